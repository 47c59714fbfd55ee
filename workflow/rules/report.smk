rule summary:
    input:
        **{
            **{endpoint: ENDPOINT_RESULT.format(endpoint=endpoint) for endpoint in ENDPOINTS},
            **sensitivity_results(),
        },
        flow=DERIVED_FILES["flow"],
    output:
        md=report(
            "results/summary.md",
            caption="../report/summary.rst",
            category=DOCUMENT_CATEGORIES["summary"],
            labels={"document": "results summary (Markdown)"},
        ),
        html=report(
            "results/summary.html",
            caption="../report/summary.rst",
            category=DOCUMENT_CATEGORIES["summary"],
            labels={"document": "results summary (HTML)"},
        ),
    log:
        "logs/summary.log",
    benchmark:
        "benchmarks/summary.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        groups=GROUP_CODES,
        time_unit_days=config["time_unit_days"],
        endpoints=config["endpoints"],
        published=config["published"],
        sensitivity=config["sensitivity"],
        statistics=settings_of(config, ["statistics.alpha"])["statistics"],
        code=code_version("report"),
    script:
        "../scripts/summary.py"


rule provenance:
    input:
        export=config["export"],
        dictionary=config["dictionary"],
        lock=str(Path(workflow.basedir) / "requirements.lock"),
    output:
        provenance=report(
            "results/provenance.json",
            caption="../report/provenance.rst",
            category=DOCUMENT_CATEGORIES["provenance"],
        ),
    log:
        "logs/provenance.log",
    benchmark:
        "benchmarks/provenance.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=config,
        config_files=[os.path.relpath(f) for f in workflow.configfiles],
        rules=rule_params(),
        code=code_version("report"),
    script:
        "../scripts/provenance.py"
