"""What the tests share besides fixtures: the repository's paths, and helpers that build test data."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
DICTIONARY = ROOT / "resources" / "data_dictionary.csv"
EXAMPLE = ROOT / "resources" / "example"
CONFIG_FILE = ROOT / "config" / "config.yaml"
PACKAGE = ROOT / "workflow" / "chartreview"


def extraction_params(config: dict) -> dict:
    """The params rule extract passes to ``extract.redcap.run`` from a config (with its defaults)."""
    from chartreview.core.catalog import EXTRACTION_SETTINGS
    from chartreview.core.config import with_defaults
    complete = with_defaults(config)
    return {param: complete[key] for param, key in EXTRACTION_SETTINGS.items()}
