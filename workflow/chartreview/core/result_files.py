"""The JSON result files (results/endpoints/*.json, results/derived/flow.json, results/provenance.json):
one deterministic writer (keys in insertion order, floats at full precision, NaN and infinities as null,
a trailing newline) and the helpers that shape values for it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from chartreview.core.numbers import finite_or_none


def time_key(t) -> str:
    """A timepoint as a JSON key: "12" for 12 months, "1.5" for 1.5."""
    t = float(t)
    return str(int(t)) if t.is_integer() else repr(t)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return finite_or_none(obj)
    if obj is None or isinstance(obj, str):
        return obj
    # pandas is slow to import and the report's steps do not use it: a value is its NA only once it is imported
    pd = sys.modules.get("pandas")
    if pd is not None and (obj is pd.NA or obj is pd.NaT):
        return None
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(obj, path) -> None:
    """Write ``obj`` deterministically to ``path`` (its folder is created)."""
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def read_json(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
