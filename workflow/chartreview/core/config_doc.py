"""config/README.md from the config schema: one table row per key, with its description and default, so the
documentation cannot drift from the defaults the workflow fills. Run `make config-doc` after editing the schema.

    python -m chartreview.core.config_doc [--check] [README]
"""

import argparse
import sys
from pathlib import Path

import yaml

from chartreview.core.config import SCHEMA

README = SCHEMA.parents[2] / "config" / "README.md"

INTRO = """\
# Configuration

<!-- Generated from workflow/schemas/config.schema.yaml by `make config-doc`; edit the schema, not this file. -->

`config/config.yaml` holds every setting of the workflow. It is checked against
`workflow/schemas/config.schema.yaml` before any job runs: an unknown key, a wrong type or a missing input file
stops the run with a message naming the key. A key left out takes its default, stated once, in the schema.
Override a key on the command line with `--config key=value`, the value in YAML
(`--config 'groups={EGFR: 2, KRAS: 1}'`; a mapping of names given there replaces the configured one), or pass
another file with `--configfile my.yaml`. A group code or a repeating form the data dictionary does not define,
or two groups with one code, stop the run before any job too.
"""

# Heading and fixed prose of each section; a top-level key without a section of its own is an input.
SECTIONS = {
    "inputs": ("Inputs", "", ""),
    "validation": ("Validation", "", ""),
    "endpoints": (
        "Endpoints: the derivation rules",
        "",
        "The exact rules are stated in `results/summary.md` for each run, with the values in force.\n",
    ),
    "statistics": ("Statistics", "", ""),
    "figures": (
        "Figures",
        """\
`figures` lists the multi-panel publication figures, each written as `results/figures/<name>.<format>` for each
format of `figure_style.formats`:

```yaml
figures:
  figure1:
    title: Progression-free and overall survival
    width: double        # single (85 mm) or double (180 mm) journal column, or a width in mm (120)
    height_mm: 95
    layout: [[km_pfs, km_os]]   # rows of panels, lettered A, B, ... in reading order
```

Panels: `km_pfs`, `km_os`, `cif_cns`, `metastases`, `patterns`, `swimmer`, `forest`, `flow`. One job per figure
draws it and the stand-alone panels it holds first; a changed layout reruns that figure's job (and the job that
draws a panel alone instead, when one moves).
""",
        "",
    ),
    "figure_style": (
        "Figure style",
        """\
`figure_style` sets how every figure and panel is drawn and saved: the files (a journal's artwork usually as
PDF or EPS vectors, or TIFF at 300 to 1200 dpi), the font (kept as text and embedded as TrueType), and what the
time-to-event curves show. Two runs write byte-identical files; a font the machine lacks stops the run before
any job.
""",
        "",
    ),
    "published": (
        "Published values",
        """\
`published` lists the published results that `results/summary.md` sets beside the reproduced ones. Each entry
names the endpoint result and key it compares with, the published per-group values (percent or months;
`null` when not reported), the test and the P value. A reproduced value agrees when it rounds to the published
one at the published precision. `config/config.yaml` holds the values of the study's publication.
""",
        "",
    ),
    "sensitivity": (
        "Sensitivity analyses",
        """\
`sensitivity` lists the sensitivity analyses, each a variant of the primary analysis that overrides keys of
`endpoints` and `statistics` (nested as there; the keys left out keep the primary analysis's values):

```yaml
sensitivity:
  confirmed_response:                  # results/sensitivity/confirmed_response/
    label: RECIST 1.1 confirmed response
    endpoints: {response: {confirmation: true}}
```

Each variant is derived and analysed on its own (results/sensitivity/<name>/derived/, with its audit, and
results/sensitivity/<name>/endpoints/), from the primary analysis's extracted and validated tables;
`results/tables/sensitivity.*` sets its key results beside the primary analysis's, marking a conclusion at
`statistics.alpha` that differs, and `results/summary.md` says which conclusions hold under every variant.
Adding, removing or changing one variant reruns only its own steps, the table and the summary. An unknown key
in a variant stops the run before any job, naming the variant and the key.
""",
        "",
    ),
}


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if value == "":
        return '""'
    return str(value)


def format_default(value) -> str:
    """A default as it is written in config.yaml (flow style)."""
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000).strip()
    return _scalar(value)


def _row(key: str, spec: dict, required: bool = False) -> str:
    default = "required" if required else f"`{format_default(spec['default'])}`"
    meaning = " ".join(spec["description"].split())
    return f"| `{key}` | {default} | {meaning} |"


def _table(rows: list[str]) -> list[str]:
    return ["| key | default | meaning |", "|---|---|---|", *rows, ""]


def _leaves(prefix: str, spec: dict) -> list[str]:
    """Rows of an object's keys, nested objects flattened to dotted keys."""
    rows = []
    for name, sub in spec["properties"].items():
        if "properties" in sub:
            rows += _leaves(f"{prefix}.{name}", sub)
        else:
            rows.append(_row(f"{prefix}.{name}", sub))
    return rows


def _entries(name: str, spec: dict) -> list[str]:
    """A map of named entries (figures, published): the map, the keys of one entry, the default entries."""
    entry = spec["additionalProperties"]
    required = set(entry.get("required", []))
    default = spec["default"]
    meaning = " ".join(spec["description"].split())
    lines = _table([f"| `{name}` | {'below' if default else f'`{format_default(default)}`'} | {meaning} |"]
                   + [_row(f"{name}.<name>.{key}", sub, key in required)
                      for key, sub in entry["properties"].items()])
    if default:
        dumped = yaml.safe_dump({name: default}, default_flow_style=None, sort_keys=False, width=10_000)
        lines += ["The default:", "", "```yaml", dumped.strip(), "```", ""]
    return lines


def render(schema: dict) -> str:
    """The text of config/README.md."""
    inputs, sections = [], {}
    for name, spec in schema["properties"].items():
        if "properties" in spec:
            sections[name] = _table(_leaves(name, spec))
        elif name in SECTIONS:
            sections[name] = _entries(name, spec)
        else:
            inputs.append(_row(name, spec))
    sections["inputs"] = _table(inputs)
    unsectioned = set(sections) - set(SECTIONS)
    if unsectioned:
        raise ValueError(f"config_doc.SECTIONS has no heading for the schema keys {sorted(unsectioned)}")
    lines = [INTRO]
    for name, (heading, before, after) in SECTIONS.items():
        lines += [f"## {heading}", ""]
        lines += [before] if before else []
        lines += sections[name]
        lines += [after] if after else []
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", nargs="?", default=str(README))
    parser.add_argument("--check", action="store_true", help="exit 1 when the README is not the generated one")
    args = parser.parse_args(argv)
    text = render(yaml.safe_load(SCHEMA.read_text()))
    path = Path(args.readme)
    if args.check:
        if not path.is_file() or path.read_text() != text:
            print(f"{path} is not generated from {SCHEMA.name}: run make config-doc", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
