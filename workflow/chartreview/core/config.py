"""The workflow config's schema, the one place its defaults are stated (workflow/schemas/config.schema.yaml),
and the checks a config passes before any job runs.

`check_schema` fills the defaults when the workflow validates its config; `with_defaults` fills them the same
way for code that calls the package without the workflow (tests, notebooks). The workflow reads the command
line's config with `command_line_config` and `apply_overrides`, validates with `check_schema` and checks
what the schema cannot say with `check_preconditions`: each failure is one `ConfigError` naming the key."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

import yaml

from chartreview.core.catalog import (
    FORM_TABLES,
    GROUP_FIELD,
    SENSITIVITY_OVERRIDES,
    TABLE1_COLUMNS,
    TABLE1_TESTS,
    site_key,
)
from chartreview.core.errors import InputError
from chartreview.core.modules import keep, read_kept

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"
# A config error quotes the value it refuses; a long value is cut to keep the message one readable line.
MESSAGE_LIMIT = 300


class ConfigError(InputError):
    """A config value the workflow cannot run with; the message names the key, the value and the rule."""


def with_defaults(config: dict | None = None) -> dict:
    """A copy of `config` validated against the schema, every key it leaves out set to its default."""
    complete = copy.deepcopy(config or {})
    fill_defaults(complete)
    return complete


# libyaml's loader reads the schema ten times faster than PyYAML's own (read at every parse of the workflow)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def schema() -> dict:
    return yaml.load(SCHEMA.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)


def _resolved(node: dict) -> dict:
    """``node`` with a local ``$ref`` ("#/$defs/name") merged in."""
    ref = node.get("$ref", "")
    if not ref.startswith("#/$defs/"):
        return node
    return {**schema()["$defs"][ref.removeprefix("#/$defs/")], **{k: v for k, v in node.items() if k != "$ref"}}


def _is_map(node: dict) -> bool:
    """A mapping of names the user chooses (groups, figures, published, a published entry's values), not an
    object of fixed keys."""
    return node.get("type") == "object" and "properties" not in node and isinstance(
        node.get("additionalProperties"), dict)


# ------------------------------------------------------------------------------ the command line's config

def command_line_config(arguments: Iterable[str]) -> dict:
    """``--config key=value`` arguments as typed values. Snakemake reads every scalar in them as a string
    (``groups={ROS1: 2}`` gives the code "2") and cuts a value at `` #`` (a YAML comment); here a value
    is YAML (``groups={ROS1: 2, ALK: 1}``, ``repeating_forms=[a, b]``), except a key whose value is text
    (a path, an encoding, a group label), which is read as written unless quoted."""
    properties = schema()["properties"]
    typed = {}
    for argument in arguments:
        key, sep, text = argument.partition("=")
        if not sep:
            continue  # Snakemake itself refuses an argument without "="
        if properties.get(key, {}).get("type") == "string" and not text.startswith(("'", '"')):
            typed[key] = text
            continue
        try:
            typed[key] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None) or "unreadable"
            at = f" at character {mark.column + 1}" if mark is not None else ""
            raise ConfigError(f"--config {key}: {text!r} is not a YAML value ({problem}{at}); write a mapping as "
                              f"{key}='{{name: value, ...}}' and a list as {key}='[a, b]', or set it in a file "
                              "passed with --configfile") from None
    return typed


def apply_overrides(config: dict, layers: Iterable[Mapping]) -> None:
    """Set each layer (a --configfile's content, then the command line's) over ``config`` in place.

    Snakemake merges them key by key at every level, so a mapping of names could only gain entries (new
    ``groups`` added to the configured ones). Here such a mapping (groups, figures, published) is replaced
    as a whole; an object of fixed keys (validation, endpoints, statistics) is still merged key by key."""
    for layer in layers:
        _override(config, layer, schema())


def _override(target: dict, layer: Mapping, node: dict) -> None:
    properties = node.get("properties", {})
    for key, value in layer.items():
        sub = _resolved(properties.get(key, {}))
        if isinstance(value, Mapping) and isinstance(target.get(key), dict) and not _is_map(sub):
            _override(target[key], value, sub)
        else:
            target[key] = copy.deepcopy(value)


# ------------------------------------------------------------------------------------------ the schema

def check_schema(config: dict, cache: Path | None = None) -> None:
    """Validate ``config`` against the schema in place, filling every default; a ``ConfigError`` names the
    first key that breaks it, in one line (Snakemake's own message spans a screen).

    ``cache``: a file keeping the last config that passed, as filled, under a digest of the config as given,
    the schema, the code that checks it and the installed jsonschema. The workflow checks its config at every
    parse (every run, every cluster job); with the same config it reads the file instead of importing
    jsonschema and validating again, a fifth of a second. Only a config of JSON values (mappings with text
    keys, lists, text, numbers, booleans, null) is kept; a file that cannot be read or written is ignored."""
    key = _validated_key(config) if cache is not None else None
    if key is not None:
        filled = _read_validated(cache, key)
        if filled is not None:
            config.clear()
            config.update(filled)
            return
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        raise ConfigError(_schema_message(error))
    fill_defaults(config)
    check_sensitivity(config)
    if key is not None and _is_json(config):
        keep(cache, {"key": key, "config": config})


_VALIDATED_FORMAT = 1
# the code whose checks a validated config has passed
_CHECKING_CODE = (Path(__file__), Path(__file__).with_name("catalog.py"))


def _is_json(value) -> bool:
    """Whether ``value`` is made of JSON values only, so that it reads back from JSON as it was (a tuple, a
    date or a key that is not text would not)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def _validated_key(config: dict) -> str | None:
    """The digest a validated config is kept under (None for a config that is not JSON values only)."""
    if not _is_json(config):
        return None
    digest = hashlib.sha256(f"format {_VALIDATED_FORMAT}\0".encode())
    for file in (SCHEMA, *_CHECKING_CODE):
        digest.update(file.read_bytes() + b"\0")
    spec = importlib.util.find_spec("jsonschema")
    if spec is None or spec.origin is None:
        return None
    with os.scandir(Path(spec.origin).parent) as entries:  # a reinstalled jsonschema has new files
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                stat = entry.stat()
                digest.update(f"{entry.name} {stat.st_size} {stat.st_mtime_ns}\0".encode())
    digest.update(json.dumps(config, ensure_ascii=False).encode())
    return digest.hexdigest()


def _read_validated(cache: Path, key: str) -> dict | None:
    kept = read_kept(cache)
    if not isinstance(kept, dict) or kept.get("key") != key or not isinstance(kept.get("config"), dict):
        return None
    return kept["config"]


def fill_defaults(config: dict) -> None:
    """Set, in place, every key of ``config`` that the schema gives a default and ``config`` leaves out, as
    Snakemake's ``validate(config, schema)`` does (jsonschema's recipe: each ``properties`` keyword met while
    validating sets its defaults, in schema order), on the schema already read: Snakemake's reads and resolves
    the file again, a quarter of a second at every start. A default is copied, never shared with the schema."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, node):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, properties, instance, node)

    error = jsonschema.exceptions.best_match(
        jsonschema.validators.extend(base, {"properties": set_defaults})(schema()).iter_errors(config))
    if error is not None:
        raise ConfigError(_schema_message(error))


def _schema_message(error, within: tuple[str, ...] = ()) -> str:
    """One line naming the key of ``error``; ``within``: the key path the validated part sits under (a
    sensitivity variant's overrides, checked as the config they make)."""
    path = [*within, *(str(part) for part in error.absolute_path)]
    key, about = ".".join(path), ""
    if error.validator == "additionalProperties" and not error.validator_value:
        known = list(error.schema.get("properties", {}))
        unknown = [name for name in error.instance if name not in known]
        key, message = ".".join(path + [str(unknown[0])]), "unknown key"
        about = f"the keys here: {', '.join(known)}"
    elif error.validator == "pattern":
        message = f"{error.instance!r} is not allowed"
    else:
        message = error.message
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + "…"
    about = about or error.schema.get("description") or _description(path[len(within):])
    about = f" ({about})" if about else ""
    return f"config key '{key or '(top level)'}': {message}{about}; see config/README.md"


def _description(path: list[str]) -> str:
    """The description of the deepest key of ``path`` the schema describes."""
    node, found = schema(), ""
    for part in path:
        node = _resolved(node)
        if part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            break
        node = _resolved(node)
        found = node.get("description", found)
    return found


# --------------------------------------------------------------------------------- sensitivity analyses

def variant_config(config: Mapping, variant: str) -> dict:
    """The config of sensitivity variant ``variant``: the primary analysis's (``config``, validated), its
    ``endpoints`` and ``statistics`` overridden key by key by the variant's (a list is replaced whole)."""
    merged = copy.deepcopy({key: value for key, value in config.items() if key != "sensitivity"})
    entry = config["sensitivity"][variant]
    _override(merged, {key: entry[key] for key in SENSITIVITY_OVERRIDES if key in entry}, schema())
    return merged


def check_sensitivity(config: Mapping) -> None:
    """Each sensitivity variant's config (``variant_config``) against the schema, before any job: an unknown or
    wrong key of a variant is one ``ConfigError`` naming the variant and the key."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    for variant in config["sensitivity"]:
        error = jsonschema.exceptions.best_match(validator.iter_errors(variant_config(config, variant)))
        if error is not None:
            raise ConfigError(f"sensitivity variant '{variant}': "
                              + _schema_message(error, within=("sensitivity", variant)))


# ------------------------------------------------------------------------- what the schema cannot say

def check_preconditions(config: Mapping, dictionary) -> None:
    """What a colleague's edit of a valid config can still break, against the data dictionary
    (``core.dictionary.DataDictionary``): each failure is a ``ConfigError`` naming the key and the values
    allowed."""
    groups, where = config["groups"], f"the data dictionary {dictionary.path}"
    if config["reference_group"] not in groups:
        raise ConfigError(
            f"config key 'reference_group': {config['reference_group']!r} is none of the groups "
            f"{list(groups)} (set it in config/config.yaml or with --config reference_group=<group>)")
    if GROUP_FIELD not in dictionary:
        raise ConfigError(f"config key 'groups': {where} has no field {GROUP_FIELD}, whose code puts a patient "
                          "in a group")
    choices = dictionary[GROUP_FIELD].choices
    allowed = ", ".join(f"{code} = {label}" for code, label in choices.items())
    for group, code in groups.items():
        if str(code) not in choices:
            raise ConfigError(f"config key 'groups': {group!r} maps to {GROUP_FIELD} code {code}, which {where} "
                              f"does not define; its {GROUP_FIELD} codes are {allowed}")
    by_code: dict[str, list[str]] = {}
    for group, code in groups.items():
        by_code.setdefault(str(code), []).append(group)
    for code, named in by_code.items():
        if len(named) > 1:
            raise ConfigError(f"config key 'groups': {' and '.join(map(repr, named))} map to the same "
                              f"{GROUP_FIELD} code {code}; each group needs its own code ({allowed})")

    forms = dictionary.forms
    for form in config["repeating_forms"]:
        if form not in forms:
            raise ConfigError(f"config key 'repeating_forms': {form!r} is not a form of {where} "
                              f"(its forms: {', '.join(forms)})")
    if forms and forms[0] in config["repeating_forms"]:
        raise ConfigError(f"config key 'repeating_forms': {forms[0]!r} holds the record id, one row per "
                          "record; it cannot be a repeating form")
    missing = [form for form in FORM_TABLES if form in forms and form not in config["repeating_forms"]]
    if missing:
        raise ConfigError(f"config key 'repeating_forms': the analysis reads {', '.join(FORM_TABLES)} one row "
                          f"per instance; missing from {config['repeating_forms']}: {', '.join(missing)}")

    low, high = config["validation"]["age_range"]
    if low > high:
        raise ConfigError(f"config key 'validation.age_range': [{low}, {high}] has its lower limit second; "
                          f"write [{high}, {low}]")

    for name, entry in config["published"].items():
        unknown = [label for label in entry["values"] if label not in groups]
        if unknown:
            raise ConfigError(
                f"config key 'published.{name}.values': {unknown[0]!r} is none of the groups {list(groups)}; "
                "published values are set beside the reproduced ones group by group: name the groups, or "
                "leave published values out (published: {} in a config file, or --config 'published={}')")

    sites = dictionary["met_site"].choices.values() if "met_site" in dictionary else ()
    known = [*TABLE1_COLUMNS, *(f"met_{site_key(label)}" for label in sites)]
    seen: set[str] = set()
    for position, entry in enumerate(config["table1"], start=1):
        variable, kind = entry["variable"], entry["type"]
        if variable not in known:
            raise ConfigError(f"config key 'table1': row {position} names the variable {variable!r}, which is not a "
                              f"column of the derived patients table; the variables: {', '.join(known)}")
        if variable in seen:
            raise ConfigError(f"config key 'table1': the variable {variable!r} has more than one row")
        seen.add(variable)
        if entry["test"] not in TABLE1_TESTS[kind]:
            raise ConfigError(f"config key 'table1': row {position} ({variable}) is {kind}; its test "
                              f"{entry['test']!r} is none of {', '.join(TABLE1_TESTS[kind])}")
