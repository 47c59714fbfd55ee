rule derive:
    input:
        **{table: f"results/extracted/{table}.parquet" for table in EXTRACTED_TABLES},
        passed="results/validation/passed.txt",
        dictionary=config["dictionary"],
    output:
        patients="results/derived/patients.parquet",
        time_to_event="results/derived/time_to_event.parquet",
        progression_patterns="results/derived/progression_patterns.parquet",
        audit_csv="results/derived/audit.csv",
        audit_html=report(
            "results/derived/audit.html",
            caption="../report/audit.rst",
            category=DOCUMENT_CATEGORIES["audit"],
            labels={"document": "derivation audit"},
        ),
        flow="results/derived/flow.json",
    log:
        "logs/derive.log",
    benchmark:
        "benchmarks/derive.tsv"
    conda:
        "../envs/derive.yaml"
    resources:
        mem_mb=mem_mb(500, 50),
        runtime=30,
    params:
        **settings_of({**config, "groups": GROUP_CODES}, DERIVATION_SETTINGS),
        code=code_version("derive"),
    script:
        "../scripts/derive.py"
