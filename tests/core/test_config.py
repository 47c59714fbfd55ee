"""The config schema states every default once; config/README.md is generated from it; the reference group
is explicit, so the key order of the groups mapping cannot change a comparison."""

import copy
import json

import pytest
import yaml
from snakemake.utils import validate

from chartreview.core import config_doc
from chartreview.core.config import SCHEMA, fill_defaults, with_defaults
from support import ROOT

STUDY_CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
RULE_FILES = ("extract", "validate", "derive", "endpoints", "tables", "figures", "report")


def _keys(spec: dict, path: str = ""):
    """(dotted key, its schema, whether its object requires it) for every key at every level."""
    entry = spec.get("additionalProperties")
    if isinstance(entry, dict) and "properties" in entry:
        yield from _keys(entry, f"{path}.<name>")
    for name, sub in spec.get("properties", {}).items():
        key = f"{path}.{name}" if path else name
        yield key, sub, name in spec.get("required", [])
        yield from _keys(sub, key)


def test_every_schema_key_has_a_description_and_a_default():
    keys = list(_keys(yaml.safe_load(SCHEMA.read_text())))
    assert len(keys) > 40
    for key, spec, required in keys:
        assert spec.get("description"), f"{key} has no description"
        # an entry of figures or published is nothing without its required keys, so they have no default
        assert ("default" in spec) != required, f"{key}: a default, or required in its entry, not both"


def test_the_defaults_are_the_study_settings():
    study = {key: value for key, value in STUDY_CONFIG.items() if key != "published"}
    assert with_defaults() == {**with_defaults(study), "published": {}}
    assert with_defaults()["reference_group"] == "ROS1"


@pytest.mark.parametrize("config", [
    STUDY_CONFIG, {}, {"figures": {"f": {"layout": [["flow"]], "width": 120}}},
    {"endpoints": {"pfs": {}}, "statistics": {"alpha": 0.01}, "sensitivity": {"a": {"label": "x"}}},
], ids=["study", "empty", "one figure", "partial"])
def test_defaults_are_filled_as_snakemake_fills_them(config):
    """fill_defaults (the schema read once) gives what Snakemake's validate(config, schema) gives, keys in the
    same order, and leaves the schema's defaults unshared."""
    ours, snakemakes = copy.deepcopy(config), copy.deepcopy(config)
    fill_defaults(ours)
    validate(snakemakes, str(SCHEMA))
    assert json.dumps(ours) == json.dumps(snakemakes)
    ours["table1"].append({"variable": "changed"})
    assert {"variable": "changed"} not in with_defaults()["table1"]


def test_the_committed_readme_is_generated_from_the_schema():
    assert (ROOT / "config" / "README.md").read_text() == config_doc.render(yaml.safe_load(SCHEMA.read_text())), (
        "config/README.md differs from the schema's: run make config-doc")


# --------------------------------------------------------------------------- the reference group in the workflow
def _plan(make_workflow, config: dict) -> tuple:
    """Parse the workflow with `config` (no job runs); the params of every step go to params.json."""
    workflow = make_workflow(rule_files=RULE_FILES)
    (workflow.workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with (workflow.workdir / "Snakefile").open("a") as snakefile:
        snakefile.write('\n\nimport json\n\nPath("params.json").write_text(json.dumps(rule_params()))\n')
    done = workflow.run("--list-rules", check=False, timeout=300)
    return done, workflow.workdir / "params.json"


def _params(make_workflow, config: dict) -> str:
    done, params = _plan(make_workflow, config)
    assert done.returncode == 0, done.stderr
    return params.read_text()


def _with_groups(groups: dict, **keys) -> dict:
    config = {key: value for key, value in STUDY_CONFIG.items() if key != "groups"}
    return {"groups": groups, **config, **keys}


def test_the_key_order_of_groups_changes_no_param(make_workflow):
    as_written = _params(make_workflow, _with_groups({"ROS1": 2, "ALK": 1}))
    sorted_keys = _params(make_workflow, _with_groups({"ALK": 1, "ROS1": 2}))
    assert as_written == sorted_keys  # JSON text: the order of every mapping and list is compared too
    params = json.loads(as_written)
    assert list(params["endpoint"]["endpoint=pfs"]["settings"]["groups"]) == ["ROS1", "ALK"]
    assert params["figure_figure1"]["figure_figure1"]["groups"] == ["ROS1", "ALK"]
    # naming the other reference reverses every comparison
    alk = json.loads(_params(make_workflow, _with_groups({"ROS1": 2, "ALK": 1}, reference_group="ALK")))
    for step, job in [("endpoint", "endpoint=pfs"), ("derive", "derive"), ("summary", "summary")]:
        groups = alk[step][job]["settings"]["groups"] if step == "endpoint" else alk[step][job]["groups"]
        assert list(groups) == ["ALK", "ROS1"], step
    assert alk["figure_figure1"]["figure_figure1"]["groups"] == alk["tables"]["tables"]["groups"] == ["ALK", "ROS1"]


@pytest.mark.parametrize("reference", ["EGFR", "ros1"])
def test_a_reference_group_that_names_no_group_stops_before_any_job(make_workflow, reference):
    done, params = _plan(make_workflow, {**STUDY_CONFIG, "reference_group": reference})
    assert done.returncode != 0
    assert (f"config key 'reference_group': {reference!r} is none of the groups ['ROS1', 'ALK']"
            in done.stderr), done.stderr
    assert not params.exists()
