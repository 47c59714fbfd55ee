"""The scale benchmark's bookkeeping: Snakemake benchmark files are read per job and rule, runs are summarised
(medians per rule, time per patient, growth), the README tables are rendered from recorded CSVs, and R's
recorded kernel timings are joined only to the data they were taken on. Nothing here runs the benchmark."""

import re
import shutil

import pandas as pd
import pytest

from chartreview.synthetic import benchmark
from support import FIXTURES, ROOT

RECORDED = FIXTURES / "benchmark"
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"

EXPECTED_RULE_TABLE = """\
| rule | 100 k before | 100 k after | 1 M before | 1 M after |
|---|---:|---:|---:|---:|
| **whole workflow** | 32.0 / 42.0 | 8.0 / 10.0 | 450 / 500 | – |
| `extract` | 11.0 / 9.5 | 2.0 / 1.5 | 150 / 140 | – |
| `endpoint` | 9.0 / 8.0 | 2.0 / 1.5 | 130 / 120 | – |
| jobs | 5 | 4 | 5 | – |
| largest rule peak memory (GB) | 0.59 | 0.29 | 3.80 | – |
| wall / CPU µs per patient | 320 / 420 | 80 / 100 | 450 / 500 | – |
| runs (median of) | 3 | 1 | 1 | – |
| load average (1 min) before run | 3.0 | 1.0 | 6.0 | – |

Growth, time per patient at 1 M over that at 100 k: before: 1.41 (wall), 1.19 (CPU).
"""


def test_rule_benchmarks_are_read_per_job_with_their_rule(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "derive.tsv").write_text(HEADER + "12.5\t0:00:12\t2048.5\t3000\t2000\t2000\t1\t2\t90\t11.0\n")
    (folder / "endpoint_pfs.tsv").write_text(HEADER + "3.25\t0:00:03\t512.0\t700\t500\t500\t1\t2\t95\t3.0\n")
    (folder / "figure_figure2.tsv").write_text(HEADER + "2.0\t0:00:02\t-\t-\t-\t-\t-\t-\t-\t-\n")
    (folder / "panels_without_figure.tsv").write_text(HEADER + "1.0\t0:00:01\t300\t-\t-\t-\t-\t-\t-\t0.5\n")
    jobs = benchmark.read_rule_benchmarks(tmp_path)
    assert jobs["job"].tolist() == ["derive", "endpoint_pfs", "figure_figure2", "panels_without_figure"]
    # the rules made one per configured figure (figure_<figure>) are one rule's jobs
    assert jobs["rule"].tolist() == ["derive", "endpoint", "figure", "panels_without_figure"]
    assert jobs["wall_s"].tolist() == [12.5, 3.25, 2.0, 1.0]
    assert jobs["cpu_s"].iloc[:2].tolist() == [11.0, 3.0] and pd.isna(jobs["cpu_s"].iloc[2])
    assert jobs["max_rss_mb"].iloc[:2].tolist() == [2048.5, 512.0]


def test_the_longer_literal_prefix_names_the_rule():
    patterns = [("figure", re.compile("^figure_(.+)$"), 7), ("figure_panel", re.compile("^figure_panel_(.+)$"), 13)]
    assert benchmark.rule_of("figure_panel_km_os", patterns) == "figure_panel"
    assert benchmark.rule_of("figure_figure1", patterns) == "figure"
    assert benchmark.rule_of("other", patterns) == "other"


def test_every_rule_with_a_benchmark_file_is_known():
    rules = {rule for rule, _, _ in benchmark.rule_patterns()}
    assert {"extract", "validate", "derive", "endpoint", "figure", "panels_without_figure", "tables"} <= rules
    assert not any(rule is None or "{" in rule for rule in rules), rules


def test_summary_takes_medians_per_rule_and_the_largest_rule_as_peak():
    summary = benchmark.summarise(pd.read_csv(RECORDED / "jobs_small.csv"))
    row = summary.set_index(["label", "patients", "rule"])
    end = row.loc[("before", 100_000, benchmark.END_TO_END)]
    assert (end["wall_s"], end["cpu_s"], end["runs"], end["max_rss_mb"]) == (32.0, 42.0, 3, 600.0)
    # a rule's jobs are summed within a run (9, 10, 8 s), then the median over runs is taken
    assert row.loc[("before", 100_000, "endpoint"), ["wall_s", "cpu_s", "jobs"]].tolist() == [9.0, 8.0, 2]
    assert row.loc[("before", 1_000_000, benchmark.END_TO_END), "wall_us_per_patient"] == 450.0
    assert benchmark.growth_ratio(summary, "before") == pytest.approx(450 / 320)
    assert pd.isna(benchmark.growth_ratio(summary, "after"))


def test_rule_table_shows_each_label_beside_the_other_per_size():
    summary = benchmark.summarise(pd.read_csv(RECORDED / "jobs_small.csv"))
    assert benchmark.render_rule_table(summary) == EXPECTED_RULE_TABLE


def test_a_label_with_markup_is_escaped_in_the_table():
    jobs = pd.read_csv(RECORDED / "jobs_small.csv").replace({"label": {"after": "a|b*"}})
    assert "| 100 k a\\|b\\* |" in benchmark.render_rule_table(benchmark.summarise(jobs))


def test_writing_a_label_again_replaces_only_its_own_sizes(tmp_path):
    recorded = pd.read_csv(RECORDED / "jobs_small.csv")
    benchmark.write_summary(recorded, tmp_path)
    again = recorded[(recorded["label"] == "before") & (recorded["patients"] == 100_000)].copy()
    again["wall_s"] *= 2
    summary = benchmark.write_summary(again, tmp_path)
    jobs = pd.read_csv(tmp_path / "jobs.csv")
    assert len(jobs) == len(recorded)
    row = summary.set_index(["label", "patients", "rule"])
    assert row.loc[("before", 100_000, benchmark.END_TO_END), "wall_s"] == 64.0
    assert row.loc[("before", 1_000_000, benchmark.END_TO_END), "wall_s"] == 450.0
    assert (tmp_path / "rules.md").read_text() == benchmark.render_rule_table(pd.read_csv(tmp_path / "summary.csv"))


def test_readme_tables_are_rendered_from_the_csvs_alone(tmp_path, capsys):
    benchmark.write_summary(pd.read_csv(RECORDED / "jobs_small.csv"), tmp_path)
    shutil.copy(RECORDED / "kernels_small.csv", tmp_path / "kernels.csv")
    assert benchmark.main(["--render-readme", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert EXPECTED_RULE_TABLE in printed
    assert "Statistical kernels on the same 1,000,000 patients, wall / CPU seconds" in printed
    # ratios of CPU seconds: R's 0.85 s over chartreview's 0.03 s
    assert "| Kaplan-Meier | 0.03 / 0.03 s | 0.07 / 0.07 s (2.3×) | 0.60 / 0.60 s (20.0×) | 0.90 / 0.85 s (28.3×) |" \
        in printed
    assert "| log-rank | 0.04 / 0.04 s | 0.16 / 0.16 s (4.0×) | – | 1.20 / 1.10 s (27.5×) |" in printed


def test_r_timings_are_joined_only_to_the_data_they_were_taken_on(tmp_path):
    path = tmp_path / "kernels_r.csv"
    path.write_text("kernel,implementation,patients,seconds,cpu_seconds,data_sha256\n"
                    "Kaplan-Meier,R,1000,0.5,0.4,abc\nCox model,R,1000,2.0,1.9,abc\n")
    assert benchmark.recorded_r_kernels(1000, "abc", path) == {"Kaplan-Meier": (0.5, 0.4), "Cox model": (2.0, 1.9)}
    assert benchmark.recorded_r_kernels(1000, "other", path) == {}
    assert benchmark.recorded_r_kernels(2000, "abc", path) == {}


def test_recorded_r_timings_name_every_kernel_and_the_benchmarks_data():
    recorded = pd.read_csv(benchmark.R_KERNELS)
    assert set(recorded["kernel"]) == set(benchmark.KERNELS)
    assert recorded["patients"].eq(1_000_000).all() and (recorded["seconds"] > 0).all()
    assert recorded["data_sha256"].nunique() == 1


def test_kernel_data_is_the_same_for_a_seed(tmp_path):
    first = benchmark.write_kernel_data(benchmark.kernel_data(500, 1), tmp_path / "a.csv")
    assert benchmark.write_kernel_data(benchmark.kernel_data(500, 1), tmp_path / "b.csv") == first
    assert benchmark.write_kernel_data(benchmark.kernel_data(500, 2), tmp_path / "c.csv") != first


def test_scaling_plot_is_written_and_the_same_each_time(tmp_path):
    summary = benchmark.summarise(pd.read_csv(RECORDED / "jobs_small.csv"))
    benchmark.plot_scaling(summary, tmp_path / "one")
    benchmark.plot_scaling(summary, tmp_path / "two")
    for ext in ("png", "pdf"):
        assert (tmp_path / f"one.{ext}").stat().st_size > 1000
        assert (tmp_path / f"one.{ext}").read_bytes() == (tmp_path / f"two.{ext}").read_bytes()


def test_the_workflow_it_runs_is_this_checkouts():
    assert benchmark.ROOT == ROOT
    for path in ("Snakefile", "config/config.yaml", "resources/data_dictionary.csv"):
        assert (benchmark.ROOT / path).is_file(), path
