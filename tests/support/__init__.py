"""What the tests share besides fixtures: the repository's paths, and helpers that build test data."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
DICTIONARY = ROOT / "resources" / "data_dictionary.csv"
EXAMPLE = ROOT / "resources" / "example"
CONFIG_FILE = ROOT / "config" / "config.yaml"
PACKAGE = ROOT / "workflow" / "chartreview"
