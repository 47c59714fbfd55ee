"""Benchmark of the derivation at scale (issue 4: a million patients in under a minute on one core).

    .venv/bin/python tests/bench_derivation.py --patients 1000000

Builds a typed cohort with numpy (about 7 assessments and 3 progression rows per patient), then times
derive() and write_derived() separately. Not collected by pytest (the file name does not start with test_).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support

from chartreview.core.catalog import derived_files
from chartreview.derive.derivation import derive, write_derived
from support.derivation_helpers import DICTIONARY, config, synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--confirmation", action="store_true", help="RECIST confirmation on")
    args = parser.parse_args()
    clock = time.perf_counter
    t0 = clock()
    tables = synthetic(args.patients)
    t1, c1 = clock(), time.process_time()
    derived = derive(tables, DICTIONARY, config(response={"confirmation": args.confirmation}))
    t2, c2 = clock(), time.process_time()
    with tempfile.TemporaryDirectory() as out:
        write_derived(derived, derived_files(out))
        sizes = {p.name: p.stat().st_size for p in Path(out).iterdir()}
    t3, c3 = clock(), time.process_time()
    rows = len(tables.tumor_assessments) + len(tables.progression_sites) + len(tables.subsequent_therapies)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"patients {args.patients}, repeating rows {rows}: build {t1 - t0:.1f} s, derive {t2 - t1:.1f} s, "
          f"write {t3 - t2:.1f} s (derive + write {t3 - t1:.1f} s wall, {c3 - c1:.1f} s CPU: derive "
          f"{c2 - c1:.1f}, write {c3 - c2:.1f}), peak RSS {peak:.0f} MB")
    print("files (MB): " + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sorted(sizes.items())))


if __name__ == "__main__":
    main()
