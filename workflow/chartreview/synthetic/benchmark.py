"""Scale benchmark: synthetic registries through the whole workflow, and the statistical kernels against
lifelines, scikit-survival and R on the same data.

    python -m chartreview.synthetic.benchmark --sizes 10000 100000 1000000 --label before --out results/benchmarks

Each size runs in its own working directory (<workdir>/<n>/; an export_raw.csv already there is reused) with
Snakemake's per-job ``benchmark:`` files, ``--repeats`` times up to ``--repeat-below`` patients and once above.
Written to <out>/:
  jobs.csv       every run's jobs: wall and CPU seconds, peak RSS, and the machine's load around the run
  summary.csv    per label, size and rule the median over runs (rule "(end to end)" is the whole workflow)
  rules.md       the per-rule table (Markdown), every label side by side
  time_vs_patients.{png,pdf}  the whole workflow's wall and CPU time against patients, a line per label
  kernels.csv    the kernels' best-of-3 seconds: chartreview, lifelines, scikit-survival and R
A label's rows of a size replace that label's earlier rows of that size in jobs.csv, so ``--label before``
on one commit and ``--label after`` on another build one before/after table. ``--render-readme`` prints
the README's tables from the CSVs alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from chartreview.stats import competing_risks, survival

ROOT = Path(__file__).resolve().parents[3]  # the checkout: workflow/chartreview/synthetic/ is three below
END_TO_END = "(end to end)"
RULES_DIR = ROOT / "workflow" / "rules"
# The R timings recorded by tests/fixtures/r/benchmark_kernels.R on the data kernel_data() writes.
R_KERNELS = ROOT / "tests" / "fixtures" / "benchmark" / "kernels_r.csv"
KERNELS = ("Kaplan-Meier", "log-rank", "cumulative incidence", "Gray's test", "Cox model")
IMPLEMENTATIONS = ("chartreview", "lifelines", "scikit-survival", "R")
JOB_COLUMNS = ["label", "patients", "run", "rule", "job", "wall_s", "cpu_s", "max_rss_mb", "jobs",
               "load_1min_before", "load_1min_after"]


def rule_patterns(rules_dir: Path = RULES_DIR) -> list[tuple[str, re.Pattern, int]]:
    """(rule, regex of its benchmark file's stem, length of the literal prefix) from the rule files. A rule
    made once per value in a loop (``rule:`` with ``name: f"figure_{_figure}"``) is named by the literal
    text of its name before the first value (figure), so its jobs count as one rule's."""
    patterns = []
    for smk in sorted(rules_dir.glob("*.smk")):
        rule, waiting, naming = None, False, False
        for line in smk.read_text().splitlines():
            text = line.strip()
            if m := re.match(r"(?:rule|checkpoint)\s+(\w+)\s*:", text):
                rule, waiting, naming = m.group(1), False, False
            elif re.match(r"(?:rule|checkpoint)\s*:", text):
                rule, waiting, naming = None, False, False
            elif text == "name:":
                naming = True
            elif naming and text:
                rule = re.split(r"\{", _literal(text))[0].rstrip("_") or _literal(text)
                naming = False
            elif text == "benchmark:":
                waiting = True
            elif waiting and text:
                stem = Path(_literal(text)).stem
                parts = re.split(r"\{[^}]*\}", stem)  # the literal text between wildcards
                regex = "(.+)".join(re.escape(part) for part in parts)
                literal = parts[0]
                patterns.append((rule, re.compile(f"^{regex}$"), len(literal)))
                waiting = False
    return patterns


def _literal(text: str) -> str:
    """A rule file's string, as written on its own line: "a", f"a_{b}" -> a, a_{b}."""
    return re.sub(r'^f?"|",?$', "", text)


def rule_of(job: str, patterns: list[tuple[str, re.Pattern, int]]) -> str:
    """The rule a benchmark file belongs to: the matching pattern with the longest literal prefix
    (beside benchmarks figure_{figure} and figure_panel_{panel}, figure_panel_km_os is figure_panel's)."""
    matches = [(prefix, rule) for rule, regex, prefix in patterns if regex.match(job)]
    return max(matches)[1] if matches else job


def read_rule_benchmarks(workdir: Path, patterns=None) -> pd.DataFrame:
    """Snakemake's benchmark files of one run (s, cpu_time in seconds, max_rss in MB), one row per job."""
    patterns = rule_patterns() if patterns is None else patterns
    rows = []
    for tsv in sorted((workdir / "benchmarks").glob("*.tsv")):
        table = pd.read_csv(tsv, sep="\t")
        last = table.iloc[-1]
        rows.append({"rule": rule_of(tsv.stem, patterns), "job": tsv.stem, "wall_s": float(last["s"]),
                     "cpu_s": float(pd.to_numeric(pd.Series([last.get("cpu_time")]), errors="coerce").iloc[0]),
                     "max_rss_mb": float(pd.to_numeric(pd.Series([last["max_rss"]]), errors="coerce").iloc[0]),
                     "jobs": 1})
    return pd.DataFrame(rows, columns=["rule", "job", "wall_s", "cpu_s", "max_rss_mb", "jobs"])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_workflow(patients: int, workdir: Path, cores: int, seed: int, log: Path | None = None) -> dict:
    """Generate a registry of ``patients`` (unless workdir holds one) and run the whole workflow on it.

    Wall seconds, CPU seconds of Snakemake and every job (user + sys), the job count Snakemake reports and
    the 1-minute load average before and after (the machine may be shared)."""
    workdir.mkdir(parents=True, exist_ok=True)
    export = workdir / "export_raw.csv"
    python = sys.executable
    if not export.exists():
        subprocess.run([python, "-m", "chartreview.synthetic", "--patients", str(patients), "--seed", str(seed),
                        "--formats", "raw", "--check", "no", "--out", str(workdir)], check=True)
    for stale in (workdir / "benchmarks").glob("*.tsv"):
        stale.unlink()  # a job that no longer exists must not be counted
    snakemake = str(Path(python).with_name("snakemake"))
    load_before = os.getloadavg()[0]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(
        [snakemake, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", str(cores),
         "--scheduler", "greedy", "--configfile", str(ROOT / "config" / "config.yaml"), "--forceall",
         "--config", f"export={export.resolve()}", f"dictionary={ROOT / 'resources' / 'data_dictionary.csv'}"],
        capture_output=True, text=True)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"the workflow failed on {patients} patients:\n{proc.stderr[-4000:]}")
    steps = re.findall(r"(\d+) of (\d+) steps", proc.stderr)
    return {"rule": END_TO_END, "job": END_TO_END, "wall_s": seconds, "cpu_s": cpu,
            "jobs": int(steps[-1][1]) if steps else None, "load_1min_before": load_before,
            "load_1min_after": os.getloadavg()[0]}


def merge_label(jobs: pd.DataFrame, earlier: Path) -> pd.DataFrame:
    """This run's rows beside an earlier jobs.csv's rows of other labels or sizes (a label's rows of a size
    measured again are replaced)."""
    if not earlier.exists():
        return jobs
    before = pd.read_csv(earlier)
    measured = pd.MultiIndex.from_frame(jobs[["label", "patients"]].drop_duplicates())
    kept = before[~pd.MultiIndex.from_frame(before[["label", "patients"]]).isin(measured)]
    return pd.concat([kept, jobs], ignore_index=True)[JOB_COLUMNS]


def summarise(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per label, size and rule: wall and CPU seconds summed over the rule's jobs, peak RSS the largest of
    its jobs, then the median over runs; time per patient in microseconds; load the median of the runs'."""
    per_run = jobs.groupby(["label", "patients", "run", "rule"], sort=False).agg(
        wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"), max_rss_mb=("max_rss_mb", "max"),
        jobs=("jobs", "sum"), load_1min_before=("load_1min_before", "first"),
        load_1min_after=("load_1min_after", "first")).reset_index()
    summary = per_run.groupby(["label", "patients", "rule"], sort=False).agg(
        runs=("run", "nunique"), wall_s=("wall_s", "median"), cpu_s=("cpu_s", "median"),
        max_rss_mb=("max_rss_mb", "median"), jobs=("jobs", "median"),
        load_1min_before=("load_1min_before", "median"), load_1min_after=("load_1min_after", "median"),
    ).reset_index()
    # The whole workflow's peak is the largest rule's (jobs run as separate processes).
    peak = summary[summary["rule"] != END_TO_END].groupby(["label", "patients"])["max_rss_mb"].max()
    ends = summary["rule"] == END_TO_END
    summary.loc[ends, "max_rss_mb"] = [peak.get((lab, n), np.nan) for lab, n in
                                       zip(summary.loc[ends, "label"], summary.loc[ends, "patients"])]
    summary["wall_us_per_patient"] = summary["wall_s"] / summary["patients"] * 1e6
    summary["cpu_us_per_patient"] = summary["cpu_s"] / summary["patients"] * 1e6
    # Labels in the order they were measured (before, then after); the whole workflow first in each size.
    summary["_label"] = summary["label"].map({lab: i for i, lab in enumerate(dict.fromkeys(jobs["label"]))})
    summary["_end"] = ~ends
    summary = summary.sort_values(["_label", "patients", "_end", "rule"], kind="stable")
    return summary.drop(columns=["_label", "_end"]).reset_index(drop=True)


def growth_ratio(summary: pd.DataFrame, label: str, small: int = 100_000, large: int = 1_000_000,
                 column: str = "wall_us_per_patient") -> float:
    """Time per patient at ``large`` over that at ``small`` for the whole workflow (nan when not measured)."""
    ends = summary[(summary["label"] == label) & (summary["rule"] == END_TO_END)].set_index("patients")[column]
    return float(ends[large] / ends[small]) if small in ends.index and large in ends.index else float("nan")


def _markdown(text: str) -> str:
    """A label as Markdown text: its markup characters escaped."""
    return re.sub(r"([\\`*_\[\]|<>#])", r"\\\1", str(text))


def _size(n: int) -> str:
    return f"{n // 1_000_000} M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000} k" if n >= 1000 and n % 1000 == 0 else f"{n:,}")


def _seconds(x: float) -> str:
    return "–" if pd.isna(x) else (f"{x:.0f}" if x >= 100 else f"{x:.1f}")


def render_rule_table(summary: pd.DataFrame) -> str:
    """The per-rule Markdown table: a row per rule, per size and label a cell 'wall / CPU' seconds; then the
    job count, the peak memory, the time per patient and, per label, the growth from 100 k to 1 M."""
    labels = list(dict.fromkeys(summary["label"]))
    sizes = sorted(summary["patients"].unique())
    columns = [(n, lab) for n in sizes for lab in labels]
    header = "| rule | " + " | ".join(f"{_size(n)} {_markdown(lab)}" for n, lab in columns) + " |"
    lines = [header, "|---|" + "---:|" * len(columns)]
    cell = summary.set_index(["patients", "label", "rule"])
    # The costliest rules first: by CPU seconds of the first label at its largest size.
    first = summary[(summary["label"] == labels[0]) & (summary["rule"] != END_TO_END)]
    first = first[first["patients"] == first["patients"].max()].sort_values(["cpu_s", "rule"], ascending=[False, True])
    rules = [END_TO_END, *first["rule"], *sorted(set(summary["rule"]) - {END_TO_END} - set(first["rule"]))]
    for rule in rules:
        values = []
        for n, lab in columns:
            if (n, lab, rule) in cell.index:
                row = cell.loc[(n, lab, rule)]
                values.append(f"{_seconds(row['wall_s'])} / {_seconds(row['cpu_s'])}")
            else:
                values.append("–")
        name = "**whole workflow**" if rule == END_TO_END else f"`{rule}`"
        lines.append(f"| {name} | " + " | ".join(values) + " |")

    def end_row(title, fmt):
        values = []
        for n, lab in columns:
            key = (n, lab, END_TO_END)
            values.append(fmt(cell.loc[key]) if key in cell.index else "–")
        lines.append(f"| {title} | " + " | ".join(values) + " |")

    end_row("jobs", lambda r: "–" if pd.isna(r["jobs"]) else f"{r['jobs']:.0f}")
    end_row("largest rule peak memory (GB)", lambda r: "–" if pd.isna(r["max_rss_mb"]) else
            f"{r['max_rss_mb'] / 1024:.2f}")
    end_row("wall / CPU µs per patient", lambda r: f"{r['wall_us_per_patient']:.0f} / {r['cpu_us_per_patient']:.0f}")
    end_row("runs (median of)", lambda r: f"{r['runs']:.0f}")
    end_row("load average (1 min) before run", lambda r: f"{r['load_1min_before']:.1f}")
    table = "\n".join(lines) + "\n"
    ratios = []
    for lab in labels:
        wall, cpu = growth_ratio(summary, lab), growth_ratio(summary, lab, column="cpu_us_per_patient")
        if not np.isnan(wall):
            ratios.append(f"{_markdown(lab)}: {wall:.2f} (wall), {cpu:.2f} (CPU)")
    if ratios:
        table += ("\nGrowth, time per patient at 1 M over that at 100 k: " + "; ".join(ratios) + ".\n")
    return table


def render_kernel_table(kernels: pd.DataFrame) -> str:
    """The kernels' Markdown table: per implementation 'wall / CPU' seconds of the best of 3 and, beside
    each reference, its CPU seconds over chartreview's (CPU, as wall times swell on a shared machine)."""
    lines = ["| kernel | " + " | ".join(IMPLEMENTATIONS) + " |", "|---|" + "---:|" * len(IMPLEMENTATIONS)]
    for _, row in kernels.iterrows():
        ours = row["chartreview_cpu_s"]
        cells = []
        for impl in IMPLEMENTATIONS:
            wall, cpu = row.get(_kernel_column(impl), np.nan), row.get(_kernel_column(impl, "_cpu_s"), np.nan)
            if pd.isna(wall):
                cells.append("–")
            elif impl == "chartreview":
                cells.append(f"{wall:.2f} / {cpu:.2f} s")
            else:
                cells.append(f"{wall:.2f} / {cpu:.2f} s ({cpu / ours:.1f}×)")
        lines.append(f"| {row['kernel']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_scaling(summary: pd.DataFrame, path_stem: Path) -> None:
    """Whole-workflow wall (solid) and CPU (dashed) seconds against patients, a colour per label."""
    import matplotlib  # third-party, slow to import: only the plot needs it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"]
    end_to_end = summary[summary["rule"] == END_TO_END]
    fig, ax = plt.subplots(figsize=(85 / 25.4, 65 / 25.4))
    for i, (label, rows) in enumerate(end_to_end.groupby("label", sort=False)):
        rows = rows.sort_values("patients")
        colour = colours[i % len(colours)]
        ax.plot(rows["patients"], rows["wall_s"], marker="o", color=colour, label=f"{label}, wall")
        ax.plot(rows["patients"], rows["cpu_s"], marker="s", linestyle="--", color=colour, label=f"{label}, CPU")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Patients")
    ax.set_ylabel("Whole workflow (s)")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{path_stem}.{ext}", dpi=300, bbox_inches="tight",
                    metadata={"CreationDate": None} if ext == "pdf" else {"Software": None})
    plt.close(fig)


def _timed(fn, *args, repeat: int = 3, budget: float = 30.0) -> tuple[float, float]:
    """Best of ``repeat`` wall seconds and that call's CPU seconds (on a shared machine the CPU seconds are
    the steadier comparison); a call slower than ``budget`` is not repeated."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        fn(*args)
        best = min(best, (time.perf_counter() - started, time.process_time() - cpu))
        if best[0] > budget:
            break
    return best


def kernel_data(n: int = 1_000_000, seed: int = 1) -> pd.DataFrame:
    """The kernels' data: follow-up in days, an event flag, a competing-risks status (0 censored, 1, 2),
    two groups and an age; the same rows for every implementation (R reads them from CSV)."""
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 3000, n)
    event = rng.random(n) < 0.7
    status = np.where(event, rng.integers(1, 3, n), 0)
    group = rng.integers(0, 2, n)
    age = np.round(rng.normal(60, 10, n), 1)
    return pd.DataFrame({"days": days, "event": event.astype(int), "status": status, "group": group, "age": age})


def write_kernel_data(data: pd.DataFrame, path: Path) -> str:
    """The kernels' data as CSV for R; its SHA-256 (R's recorded timings name the data they were taken on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data.to_csv(path, index=False)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kernel_column(implementation: str, suffix: str = "_s") -> str:
    return implementation.lower().replace("-", "_") + suffix


def recorded_r_kernels(n: int, sha256: str | None, path: Path = R_KERNELS) -> dict[str, tuple[float, float]]:
    """R's recorded best-of-3 (wall, CPU) seconds per kernel, when taken on this very data (else none)."""
    if not path.exists():
        return {}
    table = pd.read_csv(path)
    same = table[(table["patients"] == n) & ((sha256 is None) | (table["data_sha256"] == sha256))]
    return {k: (w, c) for k, w, c in zip(same["kernel"], same["seconds"], same["cpu_seconds"])}


def kernel_benchmark(n: int = 1_000_000, seed: int = 1, data_csv: Path | None = None) -> pd.DataFrame:
    """The workflow's Kaplan-Meier, log-rank, CIF, Gray's test and Cox model beside lifelines, scikit-survival
    and R (R from the recorded run of tests/fixtures/r/benchmark_kernels.R on the same rows): best-of-3
    seconds, one row per kernel, a column per implementation."""
    # third-party references, slow to import: only the kernel comparison needs them
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.nonparametric import cumulative_incidence_competing_risks, kaplan_meier_estimator

    data = kernel_data(n, seed)
    sha256 = write_kernel_data(data, data_csv) if data_csv is not None else None
    t = data["days"].to_numpy() / 30.4375
    e = data["event"].to_numpy().astype(bool)
    status = data["status"].to_numpy()
    g = data["group"].to_numpy()
    X = data[["group", "age"]].to_numpy(dtype=float)
    frame = pd.DataFrame({"t": t, "e": e.astype(int), "group": g, "age": X[:, 1]})
    y = np.array(list(zip(e, t)), dtype=[("e", bool), ("t", float)])
    timings = {
        ("Kaplan-Meier", "chartreview"): lambda: survival.kaplan_meier(t, e),
        ("Kaplan-Meier", "lifelines"): lambda: KaplanMeierFitter().fit(t, e),
        ("Kaplan-Meier", "scikit-survival"): lambda: kaplan_meier_estimator(e, t),
        ("log-rank", "chartreview"): lambda: survival.logrank_test(t, e, g),
        ("log-rank", "lifelines"): lambda: logrank_test(t[g == 0], t[g == 1], e[g == 0], e[g == 1]),
        ("cumulative incidence", "chartreview"): lambda: competing_risks.cumulative_incidence(t, status),
        ("cumulative incidence", "scikit-survival"): lambda: cumulative_incidence_competing_risks(status, t),
        ("Gray's test", "chartreview"): lambda: competing_risks.gray_test(t, status, g),
        ("Cox model", "chartreview"): lambda: survival.cox_regression(t, e, X, ["group", "age"]),
        ("Cox model", "lifelines"): lambda: CoxPHFitter().fit(frame, "t", "e"),
        ("Cox model", "scikit-survival"): lambda: CoxPHSurvivalAnalysis(ties="efron").fit(X, y),
    }
    r_seconds = recorded_r_kernels(n, sha256)
    rows = []
    for kernel in KERNELS:
        row = {"kernel": kernel, "patients": n}
        for impl in IMPLEMENTATIONS:
            if impl == "R":
                wall, cpu = r_seconds.get(kernel, (np.nan, np.nan))
            elif (kernel, impl) in timings:
                wall, cpu = _timed(timings[(kernel, impl)])
            else:
                wall, cpu = np.nan, np.nan
            row[_kernel_column(impl)] = wall
            row[_kernel_column(impl, "_cpu_s")] = cpu
        rows.append(row)
    return pd.DataFrame(rows)


def render_readme(out: Path) -> str:
    """The README's performance tables from <out>/summary.csv and <out>/kernels.csv."""
    parts = []
    if (out / "summary.csv").exists():
        parts.append("Per rule, wall / CPU seconds (median of the runs; jobs of one rule summed):\n\n"
                     + render_rule_table(pd.read_csv(out / "summary.csv")))
    if (out / "kernels.csv").exists():
        kernels = pd.read_csv(out / "kernels.csv")
        parts.append(f"Statistical kernels on the same {kernels['patients'].iloc[0]:,} patients, wall / CPU "
                     "seconds of the best of 3 (ratio of CPU seconds to chartreview's):\n\n"
                     + render_kernel_table(kernels))
    return "\n".join(parts)


def write_summary(jobs: pd.DataFrame, out: Path) -> pd.DataFrame:
    """jobs.csv (merged with other labels), summary.csv and rules.md in ``out``; the summary."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = merge_label(jobs, out / "jobs.csv")
    jobs.to_csv(out / "jobs.csv", index=False, float_format="%.3f")
    summary = summarise(jobs)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.3f")
    (out / "rules.md").write_text(render_rule_table(summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--workdir", type=Path, default=Path("bench"))
    parser.add_argument("--label", default="current", help="name of these runs (e.g. before, after)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size up to --repeat-below patients")
    parser.add_argument("--repeat-below", type=int, default=100_000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-kernels", action="store_true")
    parser.add_argument("--kernels-only", action="store_true")
    parser.add_argument("--kernel-patients", type=int, default=1_000_000)
    parser.add_argument("--render-readme", action="store_true", help="print the README tables from <out> and stop")
    args = parser.parse_args(argv)
    if args.render_readme:
        print(render_readme(args.out), end="")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.kernels_only:
        patterns = rule_patterns()
        frames = []
        for n in args.sizes:
            workdir = args.workdir / str(n)
            for run in range(1, (args.repeats if n <= args.repeat_below else 1) + 1):
                end = run_workflow(n, workdir, args.cores, args.seed, log=workdir / f"snakemake_{run}.log")
                jobs = read_rule_benchmarks(workdir, patterns)
                end["max_rss_mb"] = jobs["max_rss_mb"].max()
                jobs = pd.concat([pd.DataFrame([end]), jobs], ignore_index=True)
                jobs["jobs"] = jobs["jobs"].fillna(len(jobs) - 1)
                jobs[["label", "patients", "run"]] = args.label, n, run
                jobs["load_1min_before"], jobs["load_1min_after"] = end["load_1min_before"], end["load_1min_after"]
                frames.append(jobs[JOB_COLUMNS])
                (workdir / f"benchmarks_{run}").mkdir(exist_ok=True)
                for tsv in (workdir / "benchmarks").glob("*.tsv"):
                    (workdir / f"benchmarks_{run}" / tsv.name).write_bytes(tsv.read_bytes())
                print(f"{args.label} {n:>9} patients run {run}: {end['wall_s']:.1f} s wall, {end['cpu_s']:.1f} s "
                      f"CPU, {end['jobs']} jobs, load {end['load_1min_before']:.2f} -> "
                      f"{end['load_1min_after']:.2f}", flush=True)
                # Each run is kept as soon as it is done: a million-patient run is long.
                summary = write_summary(pd.concat(frames, ignore_index=True), args.out)
        plot_scaling(summary, args.out / "time_vs_patients")
    if not args.skip_kernels:
        kernels = kernel_benchmark(args.kernel_patients, args.seed, data_csv=args.workdir / "kernel_data.csv")
        kernels.to_csv(args.out / "kernels.csv", index=False, float_format="%.4f")
        print(render_kernel_table(kernels))
    print(f"benchmark driver peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
