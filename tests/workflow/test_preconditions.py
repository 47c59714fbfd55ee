"""A config a colleague edited wrongly stops the workflow before any job runs, with one message naming the
key and no traceback; any key can be set with --config, and a path with " #" too. (An export whose patients
all fall in one group stops at rule derive: tests/derive/test_derivation.py.)"""

import json

import pytest

from support import EXAMPLE
from support.workflow import Workflow

# Written by the Snakefile of the test's checkout: the config as the rules read it.
DUMP_CONFIG = '\n\nimport json\n\nPath("config.json").write_text(json.dumps(config))\n'


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Workflow:
    # common.smk alone: it reads and checks the config; the rule files would only slow the test down
    workflow = Workflow(tmp_path_factory.mktemp("preconditions") / "checkout", rule_files=())
    with (workflow.workdir / "Snakefile").open("a") as snakefile:
        snakefile.write(DUMP_CONFIG)
    return workflow


# One refusal of the schema and one of the checks against the dictionary (each kind is tested in full in
# tests/core/test_config_checks.py): here, that the workflow stops on them as it reads its config.
@pytest.mark.parametrize(("arguments", "message"), [
    (["repeating_forms=[tumor_assessment, progression, subsequent_therapy, foo]"],
     "config key 'repeating_forms': 'foo' is not a form of the data dictionary resources/data_dictionary.csv "
     "(its forms: demographics, treatment, baseline, tumor_assessment, progression, followup, subsequent_therapy)"),
    (["record_id_pseudonym=true"],
     "config key 'record_id_pseudonym_key': the file '' does not exist (set it in config/config.yaml or with "
     "--config record_id_pseudonym_key=path)"),
    (["time_unit_days=abc"],
     "config key 'time_unit_days': 'abc' is not of type 'number' (days per month for every duration reported "
     "in months); see config/README.md"),
    (["sensitivity={confirmed: {label: Confirmed, endpoints: {response: {confirmaton: true}}}}"],
     "sensitivity variant 'confirmed': config key 'sensitivity.confirmed.endpoints.response.confirmaton': unknown "
     "key (the keys here: sd_min_days, confirmation, confirmation_min_days, denominator); see config/README.md"),
])
def test_a_broken_config_stops_before_any_job_with_one_message(checkout, arguments, message):
    (checkout.workdir / "config.json").unlink(missing_ok=True)
    done = checkout.run("--dry-run", "--config", *arguments, check=False)
    output = done.stdout + done.stderr  # Snakemake prints an error of the Snakefile on standard output
    assert done.returncode == 1
    assert [line for line in output.splitlines() if message in line] == [message], output
    assert "Traceback" not in output
    assert not (checkout.workdir / "config.json").exists()  # stopped while reading the config
    assert not (checkout.workdir / "results").exists()


def test_groups_and_a_path_with_a_hash_can_be_set_on_the_command_line(checkout):
    export = checkout.workdir / "site 3 #2.csv"
    export.write_bytes((EXAMPLE / "export_raw.csv").read_bytes())
    done = checkout.run("--list-rules", "--config", "groups={EGFR: 2, KRAS: 1}", "reference_group=KRAS",
                        "published={}", f"export={export.name}", "endpoints={pfs: {landmarks: [6]}}")
    assert "Traceback" not in done.stdout + done.stderr
    config = json.loads((checkout.workdir / "config.json").read_text())
    assert config["groups"] == {"EGFR": 2, "KRAS": 1} and config["reference_group"] == "KRAS"
    assert config["export"] == "site 3 #2.csv" and config["published"] == {}
    assert config["endpoints"]["pfs"] == {"landmarks": [6], "censor_at_new_therapy": True}
    assert not (checkout.workdir / "results").exists()


def test_the_pseudonyms_key_is_an_input_of_the_extraction(make_workflow):
    """A new key gives new pseudonyms: Snakemake must rerun the extraction when the key file changes."""
    workflow = make_workflow(rule_files=("extract",))
    (workflow.workdir / "pseudonym.key").write_text("4f1c0d2e9b8a7f6e5d4c3b2a19081716\n")
    done = workflow.run("--dry-run", "results/extracted/patients.parquet", "--config", "record_id_pseudonym=true",
                        "record_id_pseudonym_key=pseudonym.key")
    planned = done.stdout + done.stderr
    assert "pseudonym.key" in planned and "4f1c0d2e" not in planned
