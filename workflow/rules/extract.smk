# The chart-review export -> typed, de-identified tables (identifier fields dropped after age is computed).


rule extract:
    input:
        export=config["export"],
        dictionary=config["dictionary"],
    output:
        patients="results/extracted/patients.parquet",
        tumor_assessments="results/extracted/tumor_assessments.parquet",
        progression_sites="results/extracted/progression_sites.parquet",
        subsequent_therapies="results/extracted/subsequent_therapies.parquet",
        # the exported text of each form (codes, identifiers masked) and the export's rows, for the validation
        raw=directory("results/extracted/raw"),
    params:
        encoding=config["export_encoding"],
        repeating_forms=config["repeating_forms"],
        code=code_version("extract"),
    log:
        "logs/extract.log",
    benchmark:
        "benchmarks/extract.tsv"
    conda:
        "../envs/extraction.yaml"
    resources:
        mem_mb=mem_mb(1000, 3),  # about 4 GB for a million patients (a 1.1 GB export)
        runtime=30,
    script:
        "../scripts/extract.py"
