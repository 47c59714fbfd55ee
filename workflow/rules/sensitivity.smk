# Sensitivity analyses (config `sensitivity`): each variant's own derivation and endpoint analyses under
# results/sensitivity/{variant}/, from the primary analysis's extracted and validated tables; the table of key
# results of every analysis (results/tables/sensitivity.*). A variant's steps get only that variant's config,
# so adding, removing or changing one variant reruns only its steps, the table and the summary.
# A variant with the primary analysis's derivation config copies its derived files and the results it shares;
# another copies the result of an endpoint whose config and the data it reads are the primary analysis's.


wildcard_constraints:
    variant="|".join(VARIANTS) or "(?!)",  # no variant: matches nothing


rule sensitivity_derive:
    input:
        unpack(sensitivity_derive_input),
    output:
        **{name: path for name, path in VARIANT_DERIVED_FILES.items() if name != "audit_html"},
        audit_html=report(
            VARIANT_DERIVED_FILES["audit_html"],
            caption="../report/audit.rst",
            category=DOCUMENT_CATEGORIES["sensitivity_audit"],
            subcategory="Derivation audits of the variants",
            labels={"variant": "{variant}", "document": "derivation audit"},
        ),
    log:
        "logs/sensitivity_derive_{variant}.log",
    benchmark:
        "benchmarks/sensitivity_derive_{variant}.tsv"
    conda:
        "../envs/derive.yaml"
    resources:
        mem_mb=sensitivity_derive_mem_mb,
        runtime=30,
    params:
        **variant_params(DERIVATION_SETTINGS),
        code=code_version("derive"),
    script:
        "../scripts/sensitivity_derive.py"


rule sensitivity_endpoints:
    input:
        unpack(sensitivity_endpoints_input),
    output:
        **{endpoint: SENSITIVITY_RESULT.replace("{endpoint}", endpoint) for endpoint in ENDPOINTS},
    log:
        "logs/sensitivity_endpoints_{variant}.log",
    benchmark:
        "benchmarks/sensitivity_endpoints_{variant}.tsv"
    conda:
        "../envs/endpoints.yaml"
    resources:
        mem_mb=mem_mb(1000, 20),
        runtime=30,
    params:
        # every endpoint's own config, as rule endpoint passes it, from the variant's config
        settings=lambda wildcards: {
            endpoint: settings_of(VARIANT_CONFIGS[wildcards.variant], ENDPOINT_SETTINGS[endpoint])
            for endpoint in ENDPOINTS
        },
        code=code_version("endpoints"),
    script:
        "../scripts/sensitivity_endpoints.py"


rule sensitivity_table:
    input:
        **sensitivity_results(),
    output:
        **{kind: f"results/tables/{SENSITIVITY_TABLE}.{kind}" for kind in MANUSCRIPT_TABLE_FORMATS if kind != "html"},
        html=report(
            f"results/tables/{SENSITIVITY_TABLE}.html",
            caption="../report/table_sensitivity.rst",
            category=DOCUMENT_CATEGORIES["sensitivity_table"],
            labels={"table": SENSITIVITY_TABLE, "type": "sensitivity table"},
        ),
    log:
        "logs/sensitivity_table.log",
    benchmark:
        "benchmarks/sensitivity_table.tsv"
    conda:
        "../envs/tables.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        groups=GROUPS,
        variants={variant: config["sensitivity"][variant]["label"] for variant in VARIANTS},
        alpha=config["statistics"]["alpha"],
        code=code_version("tables"),
    script:
        "../scripts/sensitivity_table.py"
