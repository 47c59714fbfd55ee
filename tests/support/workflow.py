"""The one way the tests run Snakemake: in a work directory that holds the workflow as a user's checkout
holds it."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from support import ROOT

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# What a user's checkout holds that the workflow reads.
CHECKOUT = ("Snakefile", "config", "resources", "workflow", "requirements.lock", "pyproject.toml")


@dataclass
class Workflow:
    """A work directory holding the workflow as a user's checkout holds it, and Snakemake run in it.

    ``copy=True`` copies the checkout (a test may then edit config, resources or package code there);
    otherwise the checkout is linked. ``rule_files`` limits the Snakefile to those rule files (with
    common.smk), to run one stage on inputs a test has put under results/."""

    workdir: Path
    copy: bool = False
    rule_files: tuple[str, ...] | None = None
    env: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in CHECKOUT:
            source, target = ROOT / name, self.workdir / name
            if name == "Snakefile" and self.rule_files is not None:
                includes = "\n".join(f'include: "workflow/rules/{r}.smk"' for r in ("common", *self.rule_files))
                target.write_text(f'configfile: "config/config.yaml"\n\n\n{includes}\n')
            elif not self.copy and name in ("workflow", "resources"):
                target.symlink_to(source)
            elif source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        (self.workdir / "profiles").symlink_to("workflow/profiles")

    @classmethod
    def existing(cls, workdir: Path, copy: bool = False) -> Workflow:
        """The Workflow of a work directory made before (by another test process): nothing is copied."""
        workflow = cls.__new__(cls)
        workflow.workdir, workflow.copy, workflow.rule_files, workflow.env = workdir, copy, None, {}
        return workflow

    def run(self, *args: str, check: bool = True, cores: int = 2, timeout: int = 1200) -> subprocess.CompletedProcess:
        """``snakemake --cores N ARGS`` in the work directory, with this checkout's package importable."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
        env |= {"PYTHONPATH": str(self.workdir / "workflow")} | self.env
        done = subprocess.run([SNAKEMAKE, "--cores", str(cores), *args], cwd=self.workdir, capture_output=True,
                              text=True, env=env, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"snakemake {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
        return done

    def planned(self, *args: str) -> dict[str, int]:
        """Rule -> number of jobs that a dry run plans ({} when there is nothing to do)."""
        out = self.run("--dry-run", *args).stdout
        table = re.search(r"Job stats:\n(.*?)\n\n", out + "\n\n", re.S)
        counts: dict[str, int] = {}
        for line in table.group(1).splitlines()[2:] if table else []:
            name, _, count = line.rpartition(" ")
            if name.strip() and name.strip() != "total":
                counts[name.strip()] = int(count)
        return counts


# Loads the workflow with Snakemake's API in a separate Python (the API changes the working directory and
# sys.path of the process that loads it) and prints each rule's conda env, script and named files.
_RULES = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ResourceSettings
root = Path(sys.argv[1])
with SnakemakeApi() as api:
    rules = api.workflow(snakefile=root / "Snakefile", workdir=root,
                         resource_settings=ResourceSettings())._workflow.rules
    print(json.dumps({rule.name: {"conda": rule.conda_env, "script": rule.script,
                                  "input": list(rule.input.keys()), "output": list(rule.output.keys())}
                      for rule in rules}))
"""


def rules_of(checkout: Path = ROOT) -> dict[str, dict]:
    """Rule name -> {"conda", "script", "input", "output"} as Snakemake reads the workflow of ``checkout``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    done = subprocess.run([sys.executable, "-c", _RULES, str(checkout)], capture_output=True, text=True,
                          env=env | {"PYTHONPATH": str(checkout / "workflow")}, cwd=checkout, timeout=300,
                          check=True)
    return json.loads(done.stdout.splitlines()[-1])


def shared_run(tmp_path_factory, name: str) -> Workflow:
    """The whole workflow run once on the example in a copy of the checkout, for the whole test session:
    the first test process (pytest-xdist worker) that asks runs it, under a lock, in the session's shared
    temporary directory; any other waits for it and reads the same work directory. A failed run is
    recorded, and reported to every process that asks, without running it again."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's directory, above each worker's own
    folder = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "failed").exists():
            raise AssertionError((folder / "failed").read_text())
        if (folder / "done").exists():
            return Workflow.existing(folder / "repo", copy=True)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        run = Workflow(folder / "repo", copy=True)
        try:
            run.run()
        except AssertionError as error:
            (folder / "failed").write_text(str(error))
            raise
        (folder / "done").write_text("")
        return run
