"""The step runner (chartreview.core.steps) through the rules' own scripts, each run as Snakemake runs it:
in its own Python with a ``snakemake`` object of the rule's named files. A failure ends with one clear
message in the log and on the terminal, a non-zero exit, no traceback and no output left behind."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chartreview.core.catalog import extracted_files
from chartreview.core.dictionary import load_dictionary
from support import ROOT, extraction_params

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
    return {**extraction_params(CONFIG), "encoding": encoding}


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


def test_a_finished_step_ends_its_process_without_the_interpreter_teardown(tmp_path):
    """A native library's thread pool can abort the interpreter's teardown after the step's work is done: the
    finished step's process ends before it (status 0, its stdout, log and outputs written, no atexit run)."""
    out = tmp_path / "out.txt"
    step = ("import atexit, sys\n"
            "from pathlib import Path\n"
            "def step(inputs, outputs):\n"
            "    atexit.register(lambda: print('teardown ran', file=sys.__stderr__))\n"
            "    Path(outputs['out']).write_text('done')\n"
            "    print('on stdout', end='')\n"
            "    return 'the line for the log'\n")
    done, log = run_script(tmp_path, "finished", {}, {"out": out}, step=step)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == "done" and done.stdout == "on stdout"
    assert log == "the line for the log\n" and "teardown ran" not in done.stderr


FREED_HALF = """
import sys, time
from chartreview.core.steps import return_freed_memory
return_freed_memory()
import numpy as np
import pyarrow as pa

def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096

def kept(allocate):
    base = rss()
    blocks = [allocate() for _ in range(100)]
    held = rss() - base
    del blocks[::2]     # holes between the blocks still held: kept for reuse unless given back
    time.sleep(0.05)
    pa.allocate_buffer(64)
    return (rss() - base) / held

def arrow_block():
    block = pa.allocate_buffer(1 << 21)                     # Arrow's allocator, 2 MB
    np.frombuffer(block, np.uint8)[:] = 1
    return block

arrow = kept(arrow_block)
np.ones(1 << 18)        # freed: glibc would now keep blocks of this size for reuse instead of unmapping them
numpy = kept(lambda: np.ones(1 << 18))                      # the C library's, 2 MB
print(arrow, numpy)
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads the resident size from /proc")
def test_memory_a_step_frees_goes_back_to_the_system():
    """Extraction holds the whole export once: what it frees on the way must not stay in the process (its peak
    at a million patients). Half of 200 MB freed between blocks still held is given back, by Arrow's
    allocator and by the C library's."""
    done = subprocess.run([sys.executable, "-c", FREED_HALF], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")})
    arrow, numpy = map(float, done.stdout.split())
    assert arrow < 0.7 and numpy < 0.7, done.stdout


@pytest.mark.parametrize("library", [lambda name: object(), None])
def test_without_glibc_only_arrows_allocator_is_set(monkeypatch, library):
    """Where the C library has no mallopt (macOS) or none can be loaded, the step runs on with its defaults."""
    from chartreview.core import steps

    def no_c_library(name):
        raise OSError("no such library")
    monkeypatch.setattr(steps.ctypes, "CDLL", library or no_c_library)
    monkeypatch.delenv("MIMALLOC_PURGE_DELAY", raising=False)
    steps.return_freed_memory()
    assert os.environ["MIMALLOC_PURGE_DELAY"] == "0"


# --------------------------------------------------------------------------- errors of the operating system
DEV_FULL = Path("/dev/full")  # every write to it fails with ENOSPC, as on a full disk
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full on this system")


def _one_line_no_traceback(done, log, expected):
    assert done.returncode == 1
    assert done.stderr == expected + "\n", done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in log and "Exception ignored" not in done.stderr
    assert log == done.stderr


# A full disk names no file (the message then names the step's outputs); a permission error names its
# path. Neither shows the library's own text, which may quote what was written.
@pytest.mark.parametrize(("name", "error", "expected"), [
    ("out.json", "OSError(errno.ENOSPC, 'No space left writing SYNTHETIC Patient 001')",
     "No space left on device (writing {out})"),
    ("table.html", "PermissionError(errno.EACCES, 'cannot write SYNTHETIC Patient 001', outputs['out'])",
     "Permission denied: {out}"),
])
def test_an_os_error_is_one_line_naming_the_path_and_the_reason_never_the_library_text(tmp_path, name, error,
                                                                                       expected):
    out = tmp_path / "results" / name
    out.parent.mkdir()
    step = ("import errno\nfrom pathlib import Path\n"
            "def step(inputs, outputs):\n"
            "    Path(outputs['out']).write_text('half')\n"
            f"    raise {error}\n")
    done, log = run_script(tmp_path, "failing", {}, {"out": out}, step=step)
    _one_line_no_traceback(done, log, "test step: " + expected.format(out=out))
    assert "SYNTHETIC" not in done.stderr and not out.exists()


@needs_dev_full
def test_a_figure_on_a_full_disk_ends_with_one_line_and_no_matplotlib_traceback(tmp_path):
    panels = tmp_path / "results" / "figures" / "panels"
    panels.mkdir(parents=True)
    outputs = {kind: panels / f"flow.{kind}" for kind in ("pdf", "png")}
    outputs["png"].symlink_to(DEV_FULL)
    step = ("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "def step(inputs, outputs):\n"
            "    figure = plt.figure()\n"
            "    for kind in ('pdf', 'png'):\n"
            "        figure.savefig(outputs[kind])\n")
    done, log = run_script(tmp_path, "figure", {}, outputs, step=step)
    _one_line_no_traceback(done, log, "test step: No space left on device (writing "
                                      + ", ".join(map(str, outputs.values())) + ")")
    assert not outputs["pdf"].exists() and outputs["png"].is_symlink()


@needs_dev_full
def test_a_parquet_table_on_a_full_disk_ends_with_one_line_and_no_pyarrow_text(tmp_path):
    outputs = extracted_files(tmp_path / "results" / "extracted", FORMS)
    Path(outputs["patients"]).parent.mkdir(parents=True)
    Path(outputs["patients"]).symlink_to(DEV_FULL)
    done, log = run_script(tmp_path, "extract", {"export": FIXTURE, "dictionary": DICTIONARY}, outputs,
                           extract_params())
    _one_line_no_traceback(done, log, "Extraction failed: No space left on device (writing the files under "
                                      f"{tmp_path / 'results' / 'extracted'})")
    assert not any(Path(path).is_file() for path in outputs.values())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only directory")
def test_a_read_only_output_directory_is_one_line_naming_the_path(tmp_path):
    outputs = extracted_files(tmp_path / "results" / "extracted", FORMS)
    directory = Path(outputs["patients"]).parent
    directory.mkdir(parents=True)
    directory.chmod(0o555)
    try:
        done, log = run_script(tmp_path, "extract", {"export": FIXTURE, "dictionary": DICTIONARY}, outputs,
                               extract_params())
    finally:
        directory.chmod(0o755)
    assert done.returncode == 1 and "Traceback" not in done.stderr + log
    assert done.stderr.startswith("Extraction failed: Permission denied") and str(directory) in done.stderr
    assert done.stderr.count("\n") == 1
