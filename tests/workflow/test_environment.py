"""The conda environment files pin exactly what requirements.lock pins, so conda and pip users run the same code."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"snakemake-minimal": "snakemake", "matplotlib-base": "matplotlib"}


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


def test_every_rule_env_exists():
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for token in smk.read_text().split('"../envs/')[1:]:
            name = token.split('"')[0]
            assert (ROOT / "workflow" / "envs" / name).is_file(), f"{smk.name} names a missing env {name}"
