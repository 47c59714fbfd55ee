# Extracted tables -> every data query (pandera contracts), and the gate that stops the workflow on errors.


rule validate:
    input:
        **EXTRACTED_FILES,  # everything rule extract writes
        dictionary=config["dictionary"],
    output:
        queries=report(
            "results/validation/queries.csv",
            caption="../report/queries_csv.rst",
            category=DOCUMENT_CATEGORIES["queries"],
        ),
        html=report(
            "results/validation/queries.html",
            caption="../report/queries.rst",
            category=DOCUMENT_CATEGORIES["queries"],
        ),
    log:
        "logs/validate.log",
    benchmark:
        "benchmarks/validate.tsv"
    conda:
        "../envs/validate.yaml"
    resources:
        # the typed tables are about 70 MB for a million patients (the exported text and rows do not count)
        mem_mb=mem_mb(
            1000,
            60,
            of=EXTRACTED_TABLES,
        ),
        runtime=30,
    params:
        repeating_forms=config["repeating_forms"],
        validation=config["validation"],
        window_days=config["endpoints"]["progression"]["window_days"],
        code=code_version("validate"),
    script:
        "../scripts/validate.py"


rule validation_gate:
    input:
        queries=rules.validate.output.queries,
        html=rules.validate.output.html,
    output:
        passed="results/validation/passed.txt",
    log:
        "logs/validation_gate.log",
    benchmark:
        "benchmarks/validation_gate.tsv"
    conda:
        "../envs/validate.yaml"
    resources:
        mem_mb=mem_mb(500, 2),
        runtime=5,
    params:
        code=code_version("validate"),
    script:
        "../scripts/validation_gate.py"
