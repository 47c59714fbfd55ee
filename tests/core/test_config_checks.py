"""What a colleague's edit of the config can break is refused before any job runs, each time with one line
naming the key, the value and the rule; values given on the command line are typed as in a config file."""

import copy
import datetime
import json

import jsonschema
import pytest
import yaml

from chartreview.core.config import (
    ConfigError,
    _validated_key,
    apply_overrides,
    check_preconditions,
    check_schema,
    command_line_config,
    variant_config,
    with_defaults,
)
from support import CONFIG_FILE, DICTIONARY


@pytest.fixture
def config() -> dict:
    return with_defaults(yaml.safe_load(CONFIG_FILE.read_text()))


# --------------------------------------------------------------------------------------- the command line
def test_command_line_values_are_typed_as_yaml_and_text_keys_are_read_as_written():
    assert command_line_config([
        "groups={ROS1: 2, ALK: 1}", "repeating_forms=[a, b]", "time_unit_days=30",
        "endpoints={pfs: {landmarks: [6, 12]}}", "published={}",
        "export=exports/site 3 #2.csv", "reference_group=2", "export_encoding='cp932'", "dictionary=",
    ]) == {
        "groups": {"ROS1": 2, "ALK": 1}, "repeating_forms": ["a", "b"], "time_unit_days": 30,
        "endpoints": {"pfs": {"landmarks": [6, 12]}}, "published": {},
        # text keys: not cut at " #" (a YAML comment), a label of digits stays a label, quotes are YAML's
        "export": "exports/site 3 #2.csv", "reference_group": "2", "export_encoding": "cp932", "dictionary": "",
    }


def test_a_command_line_value_that_is_not_yaml_is_one_message():
    with pytest.raises(ConfigError) as error:
        command_line_config(["groups={ROS1: 2, ALK: 1"])
    message = str(error.value)
    assert message.startswith("--config groups: '{ROS1: 2, ALK: 1' is not a YAML value (")
    assert "--configfile" in message and "\n" not in message


def test_a_mapping_of_names_is_replaced_and_an_object_of_settings_merged(config):
    # as Snakemake leaves it: the command line's groups merged into the configured ones
    config["groups"] |= {"EGFR": "2", "KRAS": "1"}
    apply_overrides(config, [{"groups": {"EGFR": 2, "KRAS": 1}, "figures": {"f": {"layout": [["km_os"]]}}},
                             {"endpoints": {"pfs": {"landmarks": [6]}}}])
    assert config["groups"] == {"EGFR": 2, "KRAS": 1}
    assert config["figures"] == {"f": {"layout": [["km_os"]]}}
    assert config["endpoints"]["pfs"] == {"censor_at_new_therapy": True, "landmarks": [6]}
    assert config["endpoints"]["os"]["landmarks"] == [12, 24, 36]


# -------------------------------------------------------------------------------------------- the schema
@pytest.mark.parametrize(("edit", "message"), [
    ({"groups": {"ROS1": 2}}, "config key 'groups': {'ROS1': 2} does not have enough properties (group label "
                              "to `fusion_gene` code, exactly two groups"),
    ({"groups": {}}, "config key 'groups': {} does not have enough properties"),
    ({"groups": {"ROS1": "2", "ALK": 1}}, "config key 'groups.ROS1': '2' is not of type 'integer' (a "
                                          "`fusion_gene` code of the data dictionary"),
    ({"groups": {"RO\nS1": 2, "ALK": 1}}, "config key 'groups': 'RO\\nS1' is not allowed (a group label, "
                                          "printable text without control characters or surrounding spaces)"),
    ({"time_unit_days": "abc"}, "config key 'time_unit_days': 'abc' is not of type 'number' (days per month"),
    ({"repeating_forms": ["progression", "progression"]}, "config key 'repeating_forms': ['progression', "
                                                          "'progression'] has non-unique elements"),
    ({"endpoints": {"pfs": {"landmark": [6]}}}, "config key 'endpoints.pfs.landmark': unknown key (the keys "
                                                "here: censor_at_new_therapy, landmarks)"),
    ({"figures": {"fig(1)": {"layout": [["km_os"]]}}}, "config key 'figures': 'fig(1)' is not allowed (a figure "
                                                       "name (letters, digits, `_` and `-`)"),
    ({"sensitivity": {"../x": {"label": "X"}}}, "config key 'sensitivity': '../x' is not allowed (a variant name: "
                                                "a lower-case letter, then lower-case letters, digits or `_`"),
    ({"sensitivity": {"x": {"label": "X", "figures": {}}}}, "config key 'sensitivity.x.figures': unknown key (the "
                                                            "keys here: label, endpoints, statistics)"),
    # a variant's overrides are checked as the config they make, naming the variant and the key
    ({"sensitivity": {"confirmed": {"label": "X", "endpoints": {"response": {"confirmaton": True}}}}},
     "sensitivity variant 'confirmed': config key 'sensitivity.confirmed.endpoints.response.confirmaton': unknown "
     "key (the keys here: sd_min_days, confirmation, confirmation_min_days, denominator)"),
    ({"sensitivity": {"exact": {"label": "X", "statistics": {"categorical_test": "exact"}}}},
     "sensitivity variant 'exact': config key 'sensitivity.exact.statistics.categorical_test': 'exact' is not one "
     "of ['chi2', 'chi2_yates', 'fisher', 'auto']"),
])
def test_a_value_the_schema_refuses_is_one_line_naming_the_key(edit, message):
    with pytest.raises(ConfigError) as error:
        check_schema(edit)
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value) and str(error.value).endswith("; see config/README.md")


# ------------------------------------------------------------------------- what the schema cannot say
WHERE = f"the data dictionary {DICTIONARY}"


@pytest.mark.parametrize(("edit", "message"), [
    ({"groups": {"ROS1": 2, "ALK": 2}},
     "config key 'groups': 'ROS1' and 'ALK' map to the same fusion_gene code 2; each group needs its own code "
     "(1 = ALK, 2 = ROS1)"),
    ({"groups": {"ROS1": 3, "ALK": 1}},
     f"config key 'groups': 'ROS1' maps to fusion_gene code 3, which {WHERE} does not define; its fusion_gene "
     "codes are 1 = ALK, 2 = ROS1"),
    ({"reference_group": "EGFR"},
     "config key 'reference_group': 'EGFR' is none of the groups ['ROS1', 'ALK']"),
    ({"repeating_forms": ["tumor_assessment", "progression", "subsequent_therapy", "foo"]},
     f"config key 'repeating_forms': 'foo' is not a form of {WHERE} (its forms: demographics, treatment, "
     "baseline, tumor_assessment, progression, followup, subsequent_therapy)"),
    ({"repeating_forms": ["tumor_assessment"]},
     "config key 'repeating_forms': the analysis reads tumor_assessment, progression, subsequent_therapy one "
     "row per instance; missing from ['tumor_assessment']: progression, subsequent_therapy"),
    ({"repeating_forms": ["demographics", "tumor_assessment", "progression", "subsequent_therapy"]},
     "config key 'repeating_forms': 'demographics' holds the record id, one row per record; it cannot be a "
     "repeating form"),
    ({"validation": {"age_range": [100, 18], "max_assessment_gap_days": 180}},
     "config key 'validation.age_range': [100, 18] has its lower limit second; write [18, 100]"),
    ({"groups": {"EGFR": 2, "KRAS": 1}, "reference_group": "EGFR"},
     "config key 'published.baseline_cns_metastases.values': 'ROS1' is none of the groups ['EGFR', 'KRAS']"),
    ({"table1": [{"variable": "age", "label": "Age", "type": "continuous", "test": "default"},
                 {"variable": "pack_years", "label": "Pack-years", "type": "continuous", "test": "default"}]},
     "config key 'table1': row 2 names the variable 'pack_years', which is not a column of the derived patients "
     "table; the variables: age, sex,"),
    ({"table1": [{"variable": "sex", "label": "Sex", "type": "categorical", "test": "default"},
                 {"variable": "sex", "label": "Sex again", "type": "categorical", "test": "default"}]},
     "config key 'table1': the variable 'sex' has more than one row"),
    ({"table1": [{"variable": "age", "label": "Age", "type": "continuous", "test": "fisher"}]},
     "config key 'table1': row 1 (age) is continuous; its test 'fisher' is none of default, wilcoxon, none"),
])
def test_a_config_the_dictionary_or_the_analysis_refuses_is_one_line_naming_the_key(config, dictionary, edit,
                                                                                      message):
    with pytest.raises(ConfigError) as error:
        check_preconditions({**config, **edit}, dictionary)
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


def test_the_study_config_and_other_groups_without_published_values_pass(config, dictionary):
    check_preconditions(config, dictionary)
    check_preconditions({**config, "groups": {"EGFR": 2, "KRAS": 1}, "reference_group": "KRAS", "published": {}},
                        dictionary)
    check_preconditions({**config, "table1": [{"variable": "met_contralateral_lung", "label": "Contralateral lung",
                                               "type": "categorical", "test": "fisher"}]}, dictionary)


# ------------------------------------------------------------------------------------ sensitivity variants
def test_a_variant_overrides_the_primary_config_key_by_key(config):
    config["endpoints"]["pfs"]["landmarks"] = [6, 12]  # the primary analysis's own setting stays
    config["sensitivity"] = {"both": {"label": "Both", "endpoints": {"cns": {"competing": ["non_cns_progression"]},
                                                                   "response": {"sd_min_days": 56}},
                                      "statistics": {"categorical_test": "fisher"}}}
    merged = variant_config(config, "both")
    assert merged["endpoints"]["response"] == {**config["endpoints"]["response"], "sd_min_days": 56}
    assert merged["endpoints"]["cns"] == {**config["endpoints"]["cns"], "competing": ["non_cns_progression"]}
    assert merged["endpoints"]["pfs"]["landmarks"] == [6, 12]
    assert merged["statistics"] == {**config["statistics"], "categorical_test": "fisher"}
    assert "sensitivity" not in merged and config["endpoints"]["response"]["sd_min_days"] == 42
    assert {key: merged[key] for key in merged if key not in ("endpoints", "statistics")} == {
        key: config[key] for key in config if key not in ("endpoints", "statistics", "sensitivity")}


# ------------------------------------------------------------------------------- the validated config kept
def test_a_config_validated_once_is_read_back_filled_without_jsonschema(tmp_path, monkeypatch):
    given = yaml.safe_load(CONFIG_FILE.read_text())
    kept = tmp_path / "validated.json"
    first = copy.deepcopy(given)
    check_schema(first, cache=kept)
    assert first == with_defaults(given) and json.dumps(first) == json.dumps(with_defaults(given))  # key order too
    # the same config again: read back, key order included, with no validation
    def validating(*args, **kwargs):
        raise AssertionError("validated again")

    monkeypatch.setattr(jsonschema, "Draft202012Validator", validating)
    again = copy.deepcopy(given)
    check_schema(again, cache=kept)
    assert json.dumps(again) == json.dumps(first)
    # any other config is validated
    changed = copy.deepcopy(given)
    changed["time_unit_days"] = changed["time_unit_days"] + 1
    with pytest.raises(AssertionError, match="validated again"):
        check_schema(changed, cache=kept)


@pytest.mark.parametrize("edit", [
    lambda c: c.update(time_unit_days="abc"),                      # the same key, a refused value
    lambda c: c["groups"].update(ROS1=True),                       # true is no integer code, 2 is
    lambda c: c.update(repeating_forms=tuple(c["repeating_forms"])),  # a tuple is no JSON list
])
def test_a_config_other_than_the_one_kept_is_validated(tmp_path, edit):
    given = yaml.safe_load(CONFIG_FILE.read_text())
    kept = tmp_path / "validated.json"
    check_schema(copy.deepcopy(given), cache=kept)
    edited = copy.deepcopy(given)
    edit(edited)
    with pytest.raises(ConfigError):
        check_schema(edited, cache=kept)


def test_a_config_refused_or_not_of_json_values_is_not_kept_and_a_broken_file_is_ignored(tmp_path):
    given = yaml.safe_load(CONFIG_FILE.read_text())
    kept = tmp_path / "validated.json"
    with pytest.raises(ConfigError):
        check_schema({**copy.deepcopy(given), "time_unit_days": "abc"}, cache=kept)
    assert not kept.exists()
    # a date (a YAML date) does not read back from JSON as it was: validated each time, never kept
    assert _validated_key({**given, "data_cutoff": datetime.date(2024, 6, 30)}) is None
    kept.write_text('{"key": "', encoding="utf-8")   # half a file: validated again and written whole
    config = copy.deepcopy(given)
    check_schema(config, cache=kept)
    assert json.loads(kept.read_text(encoding="utf-8"))["config"] == config == with_defaults(given)
    kept.write_text(json.dumps({"key": _validated_key(given), "config": []}), encoding="utf-8")
    config = copy.deepcopy(given)
    check_schema(config, cache=kept)
    assert config == with_defaults(given)


def test_the_key_of_a_validated_config_follows_the_config_the_schema_and_the_checking_code(tmp_path, monkeypatch):
    import chartreview.core.config as module

    given = yaml.safe_load(CONFIG_FILE.read_text())
    key = _validated_key(given)
    assert key == _validated_key(copy.deepcopy(given))
    reordered = dict(reversed(list(given.items())))   # another key order fills the defaults in another order
    assert _validated_key(reordered) != key
    for name in ("SCHEMA", "_CHECKING_CODE"):
        original = getattr(module, name)
        copies = [tmp_path / f"{name}{i}" for i in range(len(original) if name == "_CHECKING_CODE" else 1)]
        for i, target in enumerate(copies):
            source = original[i] if name == "_CHECKING_CODE" else original
            target.write_bytes(source.read_bytes() + b"\n# edited\n")
        monkeypatch.setattr(module, name, tuple(copies) if name == "_CHECKING_CODE" else copies[0])
        assert _validated_key(given) != key
        monkeypatch.setattr(module, name, original)
        assert _validated_key(given) == key
