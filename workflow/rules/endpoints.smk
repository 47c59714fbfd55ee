# Analysis datasets -> one analysis per endpoint (results/endpoints/{endpoint}.json).
# Each endpoint job gets only the config it uses (ENDPOINT_SETTINGS of the catalog), so e.g. changing the PFS
# landmarks reruns only the PFS job.


rule endpoint:
    input:
        unpack(endpoint_input),
    output:
        result=report(
            ENDPOINT_RESULT,
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
