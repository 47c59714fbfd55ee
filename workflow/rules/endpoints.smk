# Analysis datasets -> one analysis per endpoint (results/endpoints/{endpoint}.json) -> manuscript tables.
# Each endpoint job gets only the config it uses, so e.g. changing the PFS landmarks reruns only the PFS job.

# report category of each endpoint result (issue 6)
ENDPOINT_CATEGORIES = {
    "metastases": "Cohort",
    "baseline": "Cohort",
    "response": "Response",
    "pfs": "Survival",
    "os": "Survival",
    "cns": "CNS",
    "progression": "Progression patterns",
}
# manuscript tables written by rule tables: results/tables/{table}.{csv,md,html}
TABLES = ["baseline", "metastases", "response", "survival", "cns", "progression"]
TABLE_CATEGORIES = {
    "baseline": "Cohort",
    "metastases": "Cohort",
    "response": "Response",
    "survival": "Survival",
    "cns": "CNS",
    "progression": "Progression patterns",
}


# The config each endpoint analysis reads, and nothing else (a param: a change reruns only that endpoint).
ENDPOINT_SETTINGS = {
    name: {"groups": config["groups"], "statistics": {"categorical_test": config["statistics"]["categorical_test"]}}
    for name in ("metastases", "progression", "baseline")
}
ENDPOINT_SETTINGS["response"] = {
    "groups": config["groups"],
    "statistics": {
        key: config["statistics"][key] for key in ("categorical_test", "conf_level")
    },
}
for _name in ("pfs", "os"):
    ENDPOINT_SETTINGS[_name] = {
        "groups": config["groups"],
        "statistics": {
            key: config["statistics"][key]
            for key in ("conf_level", "covariates", "subgroups")
        },
        "endpoints": {_name: {"landmarks": config["endpoints"][_name]["landmarks"]}},
        "time_unit_days": config["time_unit_days"],
    }
ENDPOINT_SETTINGS["cns"] = {
    "groups": config["groups"],
    "statistics": {"conf_level": config["statistics"]["conf_level"]},
    "endpoints": {"cns": config["endpoints"]["cns"]},
    "time_unit_days": config["time_unit_days"],
}


rule endpoint:
    input:
        patients="results/derived/patients.parquet",
        time_to_event="results/derived/time_to_event.parquet",
        progression_patterns="results/derived/progression_patterns.parquet",
    output:
        result=report(
            "results/endpoints/{endpoint}.json",
            caption="../report/endpoint.rst",
            category=lambda wildcards: ENDPOINT_CATEGORIES[wildcards.endpoint],
            labels={"result": "{endpoint}", "type": "endpoint result (JSON)"},
        ),
    params:
        settings=lambda wildcards: ENDPOINT_SETTINGS[wildcards.endpoint],
        code=code_version("endpoints"),  # endpoints imports every method module
    wildcard_constraints:
        endpoint="|".join(ENDPOINTS),
    log:
        "logs/endpoint_{endpoint}.log",
    benchmark:
        "benchmarks/endpoint_{endpoint}.tsv"
    conda:
        "../envs/statistics.yaml"
    resources:
        mem_mb=mem_mb(1000, 20),
        runtime=30,
    script:
        "../scripts/endpoint.py"


rule tables:
    input:
        results=expand("results/endpoints/{endpoint}.json", endpoint=ENDPOINTS),
    output:
        csv=expand("results/tables/{table}.csv", table=TABLES),
        md=expand("results/tables/{table}.md", table=TABLES),
        html=[
            report(
                f"results/tables/{table}.html",
                caption=f"../report/table_{table}.rst",
                category=TABLE_CATEGORIES[table],
                labels={"table": table, "type": "manuscript table"},
            )
            for table in TABLES
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
