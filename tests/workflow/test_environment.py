"""The conda environment files pin exactly what requirements.lock pins, so conda and pip users run the same code."""

import ast
from pathlib import Path

import pytest
import yaml

from support import ROOT
from support.package import closure, modules, third_party_imports
from support.workflow import rules_of

# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"snakemake-minimal": "snakemake", "matplotlib-base": "matplotlib"}
# import names that differ from the package's
IMPORT_NAMES = {"pyyaml": "yaml", "scikit-survival": "sksurv", "scikit-learn": "sklearn", "pillow": "PIL",
                "python-docx": "docx"}


def script_imports(path) -> set[str]:
    """The package modules a rule's script imports."""
    tree = ast.parse(path.read_text())
    return {node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chartreview.")}


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version.strip()
    return pins


def conda_pins(path: Path) -> dict[str, str]:
    spec = yaml.safe_load(path.read_text())
    pins = {}
    for dep in spec["dependencies"]:
        if isinstance(dep, str) and "=" in dep:
            name, _, version = dep.partition("=")
            pins[CONDA_TO_PYPI.get(name, name)] = version
    return pins


ENV_FILES = [ROOT / "environment.yml", *sorted((ROOT / "workflow" / "envs").glob("*.yaml"))]


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_conda_pins_equal_lock(path):
    lock = lock_pins()
    pins = conda_pins(path)
    assert pins, f"{path} pins nothing"
    assert pins.pop("python").startswith("3.11")
    mismatched = {name: (version, lock.get(name)) for name, version in pins.items() if lock.get(name) != version}
    assert not mismatched, f"{path.name}: pins differ from requirements.lock: {mismatched}"


@pytest.fixture(scope="module")
def rules() -> dict[str, dict]:
    return {name: rule for name, rule in rules_of().items() if name != "all"}


def _script_stage(script: str) -> str:
    """The stage subpackage whose entry point a rule's script runs (the import that is not core's)."""
    path = ROOT / "workflow" / "rules" / script
    stages = {m.split(".")[1] for m in script_imports(path) if m.split(".")[1] != "core"}
    assert len(stages) == 1, f"{path.name} runs {sorted(stages)}"
    return stages.pop()


def test_every_rule_runs_in_the_env_of_its_stage(rules):
    """One conda env per stage, named after it: a rule's env is the one of the stage its script runs."""
    for name, rule in rules.items():
        env = ROOT / "workflow" / "rules" / rule["conda"]
        assert env.is_file(), f"rule {name}: no env {rule['conda']}"
        assert env.stem == _script_stage(rule["script"]), f"rule {name} runs {rule['script']} in {env.name}"


def test_each_env_holds_what_its_stage_imports(rules):
    """Under --software-deployment-method conda a rule sees only its env: every third-party module that the
    code its script runs imports must be pinned there."""
    for name, rule in rules.items():
        env = ROOT / "workflow" / "rules" / rule["conda"]
        script = ROOT / "workflow" / "rules" / rule["script"]
        modules_run = closure(script_imports(script))
        needed = set().union(*(third_party_imports(modules()[m]) for m in modules_run))
        needed |= third_party_imports(script)
        pinned = {IMPORT_NAMES.get(CONDA_TO_PYPI.get(n, n), CONDA_TO_PYPI.get(n, n)) for n in conda_pins(env)}
        assert needed <= pinned, f"rule {name}: {env.name} lacks {sorted(needed - pinned)}"
