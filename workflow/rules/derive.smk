rule derive:
    input:
        **{table: EXTRACTED_FILES[table] for table in EXTRACTED_TABLES},
        passed="results/validation/passed.txt",
        dictionary=config["dictionary"],
    output:
        **{name: path for name, path in DERIVED_FILES.items() if name != "audit_html"},
        audit_html=report(
            DERIVED_FILES["audit_html"],
            caption="../report/audit.rst",
            category=DOCUMENT_CATEGORIES["audit"],
            labels={"document": "derivation audit"},
        ),
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
