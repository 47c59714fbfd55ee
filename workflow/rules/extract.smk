# The chart-review export -> typed, de-identified tables (identifier fields dropped after age is computed).


rule extract:
    input:
        **pseudonym_key_input(),
        export=config["export"],
        dictionary=config["dictionary"],
    output:
        # the typed tables; for the validation, the exported text of each form (codes, identifiers masked),
        # the export's rows and what was read
        **EXTRACTED_FILES,
    log:
        "logs/extract.log",
    benchmark:
        "benchmarks/extract.tsv"
    conda:
        "../envs/extract.yaml"
    resources:
        mem_mb=mem_mb(1000, 3),  # about 4 GB for a million patients (a 1.1 GB export)
        runtime=30,
    params:
        **{param: config[key] for param, key in EXTRACTION_SETTINGS.items()},
        code=code_version("extract"),
    script:
        "../scripts/extract.py"
