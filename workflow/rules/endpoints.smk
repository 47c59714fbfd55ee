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
    log:
        "logs/endpoint_{endpoint}.log",
    benchmark:
        "benchmarks/endpoint_{endpoint}.tsv"
    wildcard_constraints:
        endpoint="|".join(ENDPOINTS),
    conda:
        "../envs/endpoints.yaml"
    resources:
        mem_mb=mem_mb(1000, 20),
        runtime=30,
    params:
        settings=lambda wildcards: settings_of({**config, "groups": GROUP_CODES}, ENDPOINT_SETTINGS[wildcards.endpoint]),
        code=code_version("endpoints"),
    script:
        "../scripts/endpoint.py"
