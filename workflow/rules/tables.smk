# Endpoint results -> manuscript tables (results/tables/{table}.{csv,md,html}).

rule tables:
    input:
        results=expand("results/endpoints/{endpoint}.json", endpoint=ENDPOINTS),
    output:
        csv=expand("results/tables/{table}.csv", table=MANUSCRIPT_TABLES),
        md=expand("results/tables/{table}.md", table=MANUSCRIPT_TABLES),
        html=[
            report(
                f"results/tables/{table}.html",
                caption=f"../report/table_{table}.rst",
                category=MANUSCRIPT_TABLE_CATEGORIES[table],
                labels={"table": table, "type": "manuscript table"},
            )
            for table in MANUSCRIPT_TABLES
        ],
    params:
        groups=GROUPS,
        code=code_version("tables"),
    log:
        "logs/tables.log",
    benchmark:
        "benchmarks/tables.tsv"
    conda:
        "../envs/statistics.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/tables.py"
