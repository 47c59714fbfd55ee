def rule_params():
    """Every rule's params as this run evaluates them (per wildcard value where a rule has wildcards)."""
    from snakemake.iocontainers import Wildcards

    values = {"endpoint": ENDPOINTS, "panel": PANELS, "figure": FIGURES}
    record = {}
    for rule in sorted(workflow.rules, key=lambda r: r.name):
        if rule.name in ("all", "provenance"):
            continue
        names = sorted(rule.wildcard_names or [])
        combos = [{}] if not names else [{n: v} for n in names for v in values.get(n, [])]
        jobs = {}
        for combo in combos:
            params = {}
            for name, value in rule.params.items():
                if callable(value):
                    value = value(Wildcards(fromdict=combo))
                params[name] = value
            jobs[",".join(f"{k}={v}" for k, v in combo.items()) or rule.name] = params
        record[rule.name] = jobs
    return record


rule summary:
    input:
        results=expand("results/endpoints/{endpoint}.json", endpoint=ENDPOINTS),
        flow="results/derived/flow.json",
    output:
        md=report(
            "results/summary.md",
            caption="../report/summary.rst",
            category="Provenance",
            labels={"document": "results summary (Markdown)"},
        ),
        html=report(
            "results/summary.html",
            caption="../report/summary.rst",
            category="Provenance",
            labels={"document": "results summary (HTML)"},
        ),
    params:
        groups=config["groups"],
        time_unit_days=config["time_unit_days"],
        endpoints=config["endpoints"],
        published=config.get("published", {}),
        code=code_version("report"),
    log:
        "logs/summary.log",
    benchmark:
        "benchmarks/summary.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/summary.py"


rule provenance:
    input:
        export=config["export"],
        dictionary=config["dictionary"],
        lock=str(Path(workflow.basedir) / "requirements.lock"),
    output:
        report(
            "results/provenance.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    params:
        config=config,
        config_files=[os.path.relpath(f) for f in workflow.configfiles],
        rules=rule_params(),
        repo=workflow.basedir,
        code=code_version("report"),
    log:
        "logs/provenance.log",
    benchmark:
        "benchmarks/provenance.tsv"
    conda:
        "../envs/report.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/provenance.py"
