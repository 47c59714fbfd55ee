# The chart-review export -> typed, de-identified tables (identifier fields dropped after age is computed).


rule extract:
    input:
        export=config["export"],
        dictionary=config["dictionary"],
    output:
        **{table: f"results/extracted/{table}.parquet" for table in EXTRACTED_TABLES},
        # for the validation: the exported text of each form (codes, identifiers masked), the export's rows
        # and what was read (names as in chartreview.extract.redcap.extracted_files)
        **{f"exported_{form}": f"results/extracted/raw/{form}.parquet" for form in FORMS},
        rows="results/extracted/raw/rows.parquet",
        export_info="results/extracted/raw/export.json",
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
        encoding=config["export_encoding"],
        repeating_forms=config["repeating_forms"],
        code=code_version("extract"),
    script:
        "../scripts/extract.py"
