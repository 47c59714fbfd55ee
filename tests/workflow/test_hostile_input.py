"""The whole workflow on exports seeded with hostile values in every field: identifiers typed where they
do not belong, markup, spreadsheet formulas and control characters. Nothing identifying a patient, no markup
that runs, no live formula and no raw control character may reach any file written, any log or the
terminal; the run that must stop stops with a message and leaves no result behind it."""

from __future__ import annotations

import zipfile

import pytest
import yaml

from support.hostile import (
    Identifiers,
    read_export,
    scan,
    seeded_for_a_full_run,
    seeded_to_stop,
    write_export,
)


def _hostile_published(config_path):
    config = yaml.safe_load(config_path.read_text())
    for i, entry in enumerate(config["published"].values()):
        entry["label"] = ["<img src=x onerror=alert(1)> ORR", "=HYPERLINK(1)", "*bold* [click](javascript:alert(3))",
                          "<script>alert(2)"][i % 4] + f" {entry['label']}"
        entry["note"] = "@SUM(A1) <b>note `x`_"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def _run_on(make_workflow, seeded, *arguments, check=True, edit_config=None):
    """The workflow on the example seeded by ``seeded``, in a copy of the checkout: its run and what any
    scan of it must not find (every identifier of the example)."""
    header, rows = read_export()
    run = make_workflow(copy=True)
    export = write_export(run.workdir / "resources" / "hostile.csv", header, seeded(rows))
    if edit_config:
        edit_config(run.workdir / "config" / "config.yaml")
    done = run.run("--config", f"export={export.relative_to(run.workdir)}", *arguments, check=check)
    return run, done, Identifiers.of(rows).needles(rows)


def _scan_run(run, needles, printed):
    return scan(run.workdir / "results", needles, printed) + scan(run.workdir / "logs", needles) \
        + scan(run.workdir / ".snakemake" / "log", needles)


@pytest.mark.slow
def test_a_full_run_on_hostile_free_text_leaks_and_runs_nothing(make_workflow):
    run, done, needles = _run_on(make_workflow, seeded_for_a_full_run, edit_config=_hostile_published)
    report = run.run("--report", "results/report.html")
    assert (run.workdir / "results" / "report.html").is_file()
    findings = _scan_run(run, needles, done.stdout + done.stderr + report.stdout + report.stderr)
    assert not findings, "\n".join(findings[:30])


@pytest.mark.slow
def test_a_run_stopped_by_hostile_typed_values_leaks_and_runs_nothing(make_workflow):
    run, done, needles = _run_on(make_workflow, seeded_to_stop, check=False)
    assert done.returncode != 0
    printed = done.stdout + done.stderr
    assert "Validation of the export found" in printed, printed[-3000:]
    assert "Traceback" not in printed
    assert not (run.workdir / "results" / "derived").exists()
    assert not (run.workdir / "results" / "endpoints").exists()
    findings = _scan_run(run, needles, printed)
    assert not findings, "\n".join(findings[:30])


@pytest.mark.parametrize(("name", "content", "finding"), [
    ("a.html", "<p><img src=x onerror=alert(1)></p>", "live markup"),
    ("report.html", "<script>var d = '<!--';</script>", "'<!--' in a script block"),
    ("b.md", "[click](javascript:alert(3))", "live Markdown link"),
    ("c.csv", 'record_id\n"=HYPERLINK(""x"")"\n', "live formula"),
    ("d.log", "record \x1b[31m1", "raw control character"),
    ("e.parquet", "SYN-0000001", "identifier"),
])
def test_the_scan_finds_each_kind_of_leak(tmp_path, name, content, finding):
    (tmp_path / name).write_text(content)
    found = scan(tmp_path, {"SYN-0000001"})
    assert any(finding in f for f in found), found
    # and nothing in the escaped forms
    (tmp_path / name).write_text("&lt;img src=x&gt; \\[click\\](javascript:x) '=HYPERLINK(1) \\x1b -0.5")
    assert scan(tmp_path, {"SYN-0000001"}) == []


@pytest.mark.parametrize(("xml", "finding"), [
    ('<w:p><w:fldSimple w:instr="DDEAUTO x"/></w:p>', "Word field"),
    ("<w:p><w:r><w:t>SYN-0000001</w:t></w:r></w:p>", "identifier"),
])
def test_the_scan_reads_the_deflated_parts_of_a_word_document(tmp_path, xml, finding):
    with zipfile.ZipFile(tmp_path / "f.docx", "w", zipfile.ZIP_DEFLATED) as docx:
        docx.writestr("word/document.xml", xml * 50)  # deflated: absent from the file's bytes as they are
    assert b"SYN-0000001" not in (tmp_path / "f.docx").read_bytes()
    found = scan(tmp_path, {"SYN-0000001"})
    assert any(finding in f for f in found), found
    with zipfile.ZipFile(tmp_path / "f.docx", "w", zipfile.ZIP_DEFLATED) as docx:
        docx.writestr("word/document.xml", "<w:p><w:r><w:t>=1+1 &lt;w:fldSimple&gt;</w:t></w:r></w:p>")
    assert scan(tmp_path, {"SYN-0000001"}) == []
