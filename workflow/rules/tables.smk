# Endpoint results -> manuscript tables (results/tables/{table}.{csv,md,html,docx}) and all of them in one Word
# document (results/tables/tables.docx). The report shows the HTML: Snakemake's report cannot display a .docx.


rule tables:
    input:
        **{endpoint: ENDPOINT_RESULT.format(endpoint=endpoint) for endpoint in ENDPOINTS},
    output:
        # named <table>_<format>, as chartreview.tables.manuscript.run reads them
        **{
            f"{table}_{kind}": f"results/tables/{table}.{kind}"
            for table in MANUSCRIPT_TABLES
            for kind in MANUSCRIPT_TABLE_FORMATS
            if kind != "html"
        },
        **{
            f"{table}_html": report(
                f"results/tables/{table}.html",
                caption=f"../report/table_{table}.rst",
                category=MANUSCRIPT_TABLE_CATEGORIES[table],
                labels={"table": table, "type": "manuscript table"},
            )
            for table in MANUSCRIPT_TABLES
        },
        tables_docx=MANUSCRIPT_TABLES_DOCX,
    log:
        "logs/tables.log",
    benchmark:
        "benchmarks/tables.tsv"
    conda:
        "../envs/tables.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    params:
        groups=GROUPS,
        code=code_version("tables"),
    script:
        "../scripts/tables.py"
