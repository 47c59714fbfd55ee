"""The scale benchmark's bookkeeping: Snakemake benchmark files are summarised, kernels are timed side by side."""

import pandas as pd

from chartreview.synthetic import benchmark


def test_rule_benchmarks_are_read_per_rule(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (folder / "derive.tsv").write_text(header + "12.5\t0:00:12\t2048.5\t3000\t2000\t2000\t1\t2\t90\t11.0\n")
    (folder / "endpoint_pfs.tsv").write_text(header + "3.25\t0:00:03\t512.0\t700\t500\t500\t1\t2\t95\t3.0\n")
    rows = benchmark.read_rule_benchmarks(1000, tmp_path)
    assert rows == [
        {"patients": 1000, "rule": "derive", "seconds": 12.5, "max_rss_mb": 2048.5, "jobs": 1},
        {"patients": 1000, "rule": "endpoint_pfs", "seconds": 3.25, "max_rss_mb": 512.0, "jobs": 1},
    ]


def test_kernel_table_compares_each_library_with_the_workflow():
    table = benchmark.kernel_benchmark(n=5000)
    assert set(table["kernel"]) == {"Kaplan-Meier", "log-rank", "cumulative incidence", "Gray's test"}
    ours = table[table["implementation"] == "chartreview"]
    assert (ours["ratio_to_chartreview"] == 1.0).all()
    assert {"lifelines", "scikit-survival"} <= set(table["implementation"])
    assert (table["seconds"] > 0).all() and table["patients"].eq(5000).all()


def test_scaling_plot_is_written(tmp_path):
    summary = pd.DataFrame({"patients": [10, 100], "rule": ["(end to end)"] * 2, "seconds": [1.0, 5.0],
                            "max_rss_mb": [1.0, 2.0], "jobs": [None, None]})
    benchmark.plot_scaling(summary, tmp_path / "scaling")
    assert (tmp_path / "scaling.png").stat().st_size > 1000 and (tmp_path / "scaling.pdf").exists()


def test_the_workflow_it_runs_is_this_checkouts():
    from support import ROOT
    assert benchmark.ROOT == ROOT
    for path in ("Snakefile", "config/config.yaml", "resources/data_dictionary.csv"):
        assert (benchmark.ROOT / path).is_file(), path
