"""Scale benchmark: synthetic registries through the whole workflow, and the statistical kernels against
lifelines and scikit-survival on the same data.

    python -m chartreview.synthetic.benchmark --sizes 10000 100000 1000000 --out results/benchmarks

Each size runs in its own working directory (bench/<n>/) with Snakemake's per-rule ``benchmark:`` files;
the summary (wall time and peak memory per rule and end to end) goes to <out>/summary.csv with a plot of
time against patients, and the kernel timings to <out>/kernels.csv.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from chartreview.stats import competing_risks, survival

ROOT = Path(__file__).resolve().parents[3]  # the checkout: workflow/chartreview/synthetic/ is three below


def run_workflow(patients: int, workdir: Path, cores: int, seed: int) -> dict:
    """Generate a registry of ``patients`` and run the whole workflow on it; wall time and peak memory."""
    workdir.mkdir(parents=True, exist_ok=True)
    export = workdir / "export_raw.csv"
    python = sys.executable
    if not export.exists():
        subprocess.run([python, "-m", "chartreview.synthetic", "--patients", str(patients), "--seed", str(seed),
                        "--formats", "raw", "--check", "no", "--out", str(workdir)], check=True)
    snakemake = str(Path(python).with_name("snakemake"))
    started = time.perf_counter()
    proc = subprocess.run(
        [snakemake, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", str(cores),
         "--configfile", str(ROOT / "config" / "config.yaml"), "--forceall", "--quiet", "rules",
         "--config", f"export={export}", f"dictionary={ROOT / 'resources' / 'data_dictionary.csv'}"],
        capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"the workflow failed on {patients} patients:\n{proc.stderr[-4000:]}")
    return {"patients": patients, "rule": "(end to end)", "seconds": seconds,
            "max_rss_mb": float("nan"), "jobs": None}


def read_rule_benchmarks(patients: int, workdir: Path) -> list[dict]:
    """Snakemake's benchmark files (s, max_rss in MB, ...) of one run, one row per job."""
    rows = []
    for tsv in sorted((workdir / "benchmarks").glob("*.tsv")):
        table = pd.read_csv(tsv, sep="\t")
        rows.append({"patients": patients, "rule": tsv.stem, "seconds": float(table["s"].iloc[-1]),
                     "max_rss_mb": float(pd.to_numeric(table["max_rss"], errors="coerce").iloc[-1]), "jobs": 1})
    return rows


def plot_scaling(summary: pd.DataFrame, path_stem: Path) -> None:
    import matplotlib  # third-party, slow to import: only the plot needs it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end_to_end = summary[summary["rule"] == "(end to end)"]
    fig, ax = plt.subplots(figsize=(85 / 25.4, 65 / 25.4))
    ax.plot(end_to_end["patients"], end_to_end["seconds"], marker="o", color="#0072B2")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Patients")
    ax.set_ylabel("Wall time, whole workflow (s)")
    ax.grid(True, which="both", linewidth=0.3)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{path_stem}.{ext}", dpi=300, bbox_inches="tight",
                    metadata={"CreationDate": None} if ext == "pdf" else None)
    plt.close(fig)


def _timed(fn, *args, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - started)
    return best


def kernel_benchmark(n: int = 1_000_000, seed: int = 1) -> pd.DataFrame:
    """The workflow's Kaplan-Meier, log-rank, CIF and Gray's test beside lifelines and scikit-survival."""
    # third-party references, slow to import: only the kernel comparison needs them
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test
    from sksurv.nonparametric import cumulative_incidence_competing_risks, kaplan_meier_estimator

    rng = np.random.default_rng(seed)
    days = rng.integers(1, 3000, n)
    time_months = days / 30.4375
    event = rng.random(n) < 0.7
    status = np.where(event, rng.integers(1, 3, n), 0)
    group = rng.integers(0, 2, n)
    rows = [
        ("Kaplan-Meier", "chartreview", _timed(survival.kaplan_meier, time_months, event)),
        ("Kaplan-Meier", "lifelines", _timed(lambda t, e: KaplanMeierFitter().fit(t, e), time_months, event)),
        ("Kaplan-Meier", "scikit-survival", _timed(kaplan_meier_estimator, event, time_months)),
        ("log-rank", "chartreview", _timed(survival.logrank_test, time_months, event, group)),
        ("cumulative incidence", "chartreview",
         _timed(competing_risks.cumulative_incidence, time_months, status)),
        ("cumulative incidence", "scikit-survival",
         _timed(cumulative_incidence_competing_risks, status, time_months)),
        ("Gray's test", "chartreview", _timed(competing_risks.gray_test, time_months, status, group)),
    ]
    rows.append(("log-rank", "lifelines", _timed(
        lambda t, e, g: logrank_test(t[g == 0], t[g == 1], e[g == 0], e[g == 1]), time_months, event, group)))
    table = pd.DataFrame(rows, columns=["kernel", "implementation", "seconds"])
    ours = table[table["implementation"] == "chartreview"].set_index("kernel")["seconds"]
    table["ratio_to_chartreview"] = table["seconds"] / table["kernel"].map(ours)
    table.insert(0, "patients", n)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--workdir", type=Path, default=Path("bench"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20230101)
    parser.add_argument("--skip-kernels", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        workdir = args.workdir / str(n)
        end_to_end = run_workflow(n, workdir, args.cores, args.seed)
        per_rule = read_rule_benchmarks(n, workdir)
        end_to_end["max_rss_mb"] = max((r["max_rss_mb"] for r in per_rule), default=float("nan"))
        rows += [end_to_end, *per_rule]
        print(f"{n:>9} patients: {end_to_end['seconds']:.1f} s end to end, "
              f"peak memory of a rule {end_to_end['max_rss_mb']:.0f} MB", flush=True)
    summary = pd.DataFrame(rows)
    summary.to_csv(args.out / "summary.csv", index=False, float_format="%.3f")
    plot_scaling(summary, args.out / "time_vs_patients")
    if not args.skip_kernels:
        kernels = kernel_benchmark(max(args.sizes))
        kernels.to_csv(args.out / "kernels.csv", index=False, float_format="%.4f")
        print(kernels.to_string(index=False))
    print(f"benchmark driver peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
