# Analysis datasets -> one analysis per endpoint (results/endpoints/{endpoint}.json).
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
# The config each endpoint analysis reads, and nothing else (a param: a change reruns only that endpoint).
ENDPOINT_SETTINGS = {
    name: {"groups": GROUP_CODES, "statistics": {"categorical_test": config["statistics"]["categorical_test"]}}
    for name in ("metastases", "progression", "baseline")
}
ENDPOINT_SETTINGS["response"] = {
    "groups": GROUP_CODES,
    "statistics": {
        key: config["statistics"][key] for key in ("categorical_test", "conf_level")
    },
}
for _name in ("pfs", "os"):
    ENDPOINT_SETTINGS[_name] = {
        "groups": GROUP_CODES,
        "statistics": {
            key: config["statistics"][key]
            for key in ("conf_level", "covariates", "subgroups")
        },
        "endpoints": {_name: {"landmarks": config["endpoints"][_name]["landmarks"]}},
        "time_unit_days": config["time_unit_days"],
    }
ENDPOINT_SETTINGS["cns"] = {
    "groups": GROUP_CODES,
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
        code=code_version("endpoints"),
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
