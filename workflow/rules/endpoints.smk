# Analysis datasets -> one analysis per endpoint (results/endpoints/{endpoint}.json).
# Each endpoint job gets only the config it uses (ENDPOINT_SETTINGS of the catalog), so e.g. changing the PFS
# landmarks reruns only the PFS job.


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
        settings=lambda wildcards: settings_of(
            {**config, "groups": GROUP_CODES}, ENDPOINT_SETTINGS[wildcards.endpoint]
        ),
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
