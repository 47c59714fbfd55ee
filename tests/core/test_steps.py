"""The step runner (chartreview.core.steps) through the rules' own scripts, each run as Snakemake runs it:
in its own Python with a ``snakemake`` object of the rule's named files. A failure ends with one clear
message in the log and on the terminal, a non-zero exit, no traceback and no output left behind."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from chartreview.core.catalog import extracted_files
from chartreview.core.dictionary import load_dictionary
from support import ROOT

SCRIPTS = ROOT / "workflow" / "scripts"
DICTIONARY = ROOT / "resources" / "data_dictionary.csv"
FIXTURE = ROOT / "tests" / "fixtures" / "exports" / "export_raw.csv"
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
FORMS = load_dictionary(DICTIONARY).forms

# Runs a script (or, with "step", a step function given as source) with a snakemake object as Snakemake
# builds it: named inputs, outputs and params, the log, the wildcards and the script's directory.
RUNNER = """
import json, runpy, sys
from types import SimpleNamespace
from snakemake.iocontainers import Namedlist

job = json.loads(sys.argv[1])
snakemake = SimpleNamespace(
    input=Namedlist(fromdict=job["input"]), output=Namedlist(fromdict=job["output"]),
    params=Namedlist(fromdict=job["params"]), wildcards=Namedlist(fromdict=job["wildcards"]),
    log=Namedlist(fromdict={"log": job["log"]}), scriptdir=job["scriptdir"])
if job.get("step"):
    sys.path.insert(0, job["package"])
    from chartreview.core.steps import run_step
    namespace = {}
    exec(job["step"], namespace)
    run_step(snakemake, namespace["step"], "test step")
else:
    runpy.run_path(job["script"], init_globals={"snakemake": snakemake}, run_name="__main__")
"""


def run_script(tmp_path, script, inputs, outputs, params=None, wildcards=None, step=None):
    log = tmp_path / "logs" / f"{script}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    job = {"input": {k: str(v) for k, v in inputs.items()}, "output": {k: str(v) for k, v in outputs.items()},
           "params": {"code": "digest", **(params or {})}, "wildcards": wildcards or {}, "log": str(log),
           "scriptdir": str(SCRIPTS), "script": str(SCRIPTS / f"{script}.py"), "step": step,
           "package": str(ROOT / "workflow")}
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(job)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    return done, log.read_text()


def extract_params(encoding="utf-8-sig"):
    return {"encoding": encoding, "repeating_forms": CONFIG["repeating_forms"], "delimiter": CONFIG["export_delimiter"],
            "xlsx_max_inflated_mb": CONFIG["xlsx_max_inflated_mb"],
            "xlsx_max_compression_ratio": CONFIG["xlsx_max_compression_ratio"]}


def test_a_step_writes_its_named_outputs_and_its_line_in_the_log(tmp_path):
    outputs = extracted_files(tmp_path / "results" / "extracted", FORMS)
    done, log = run_script(tmp_path, "extract", {"export": FIXTURE, "dictionary": DICTIONARY}, outputs,
                           extract_params())
    assert done.returncode == 0, done.stderr
    assert all(Path(path).is_file() for path in outputs.values())
    assert "5 records in 35 rows" in log and done.stderr == ""


def test_an_input_error_is_one_line_no_traceback_and_no_partial_output(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    outputs = extracted_files(tmp_path / "results" / "extracted", FORMS)
    stale = Path(outputs["patients"])  # left by an earlier run: it must not outlive a failed step
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    done, log = run_script(tmp_path, "extract", {"export": empty, "dictionary": DICTIONARY}, outputs,
                           extract_params())
    assert done.returncode == 1
    assert done.stderr.startswith("Extraction failed: ") and str(empty) in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert log == done.stderr and "Traceback" not in log
    assert not any(Path(path).exists() for path in outputs.values())


def test_the_gate_shows_the_first_errors_and_the_report(tmp_path):
    queries = tmp_path / "queries.csv"
    queries.write_text("record_id,form,instance,field,value,rule,severity,message\n"
                       "CR-001,demographics,,diagnosis_date,2013-02-30,date,error,not a date\n")
    passed = tmp_path / "passed.txt"
    done, log = run_script(tmp_path, "validation_gate", {"queries": queries, "html": tmp_path / "queries.html"},
                           {"passed": passed})
    assert done.returncode == 1 and "Traceback" not in log
    assert done.stderr.startswith("Validation of the export found 1 error(s) and 0 warning(s)")
    assert ("record CR-001, form demographics, field diagnosis_date, value '2013-02-30', rule date"
            in done.stderr)
    assert f"The full list for the abstractors: {tmp_path / 'queries.html'}" in done.stderr
    assert log == done.stderr and not passed.exists()


def test_a_bug_keeps_its_traceback_in_the_log_and_leaves_no_output(tmp_path):
    out = tmp_path / "out.txt"
    step = ("from pathlib import Path\n"
            "def step(inputs, outputs):\n"
            "    Path(outputs['out']).write_text('half')\n"
            "    raise KeyError('a bug')\n")
    done, log = run_script(tmp_path, "bug", {}, {"out": out}, step=step)
    assert done.returncode != 0
    assert "Traceback" in log and "KeyError: 'a bug'" in log
    assert not out.exists()
