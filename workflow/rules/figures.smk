# Endpoint results, derived patients and patient flow -> figure panels (results/figures/panels/) and the
# multi-panel publication figures of config `figures:` (results/figures/<figure>.<format>, the formats of
# config figure_style). An assembled figure's params are only its own `figures:` entry and figure_style, so a
# changed layout reruns only that figure's assembly.

FIGURE_MODULES = ("figures",)


# Panels of each configured figure, in reading order.
FIGURE_PANELS = {name: [panel for row in entry["layout"] for panel in row] for name, entry in config["figures"].items()}


rule figure_panel:
    input:
        unpack(lambda wildcards: {name: FIGURE_INPUT_FILES[name] for name in PANEL_INPUTS[wildcards.panel]}),
    output:
        **figure_outputs(
            "results/figures/panels/{panel}",
            category=lambda wildcards: PANEL_CATEGORIES[wildcards.panel],
            subcategory="Figure panels",
            labels={"panel": "{panel}", "type": "figure panel"},
        ),
    log:
        "logs/figure_panel_{panel}.log",
    benchmark:
        "benchmarks/figure_panel_{panel}.tsv"
    wildcard_constraints:
        panel="|".join(PANELS),
    conda:
        "../envs/figures.yaml"
    resources:
        mem_mb=mem_mb(800, 5),
        runtime=10,
    params:
        groups=GROUPS,
        figure_style=config["figure_style"],
        code=code_version(*FIGURE_MODULES),
    script:
        "../scripts/figure_panel.py"


rule figure:
    input:
        unpack(
            lambda wildcards: {
                name: FIGURE_INPUT_FILES[name]
                for panel in FIGURE_PANELS[wildcards.figure]
                for name in PANEL_INPUTS[panel]
            }
        ),
        # the stand-alone panels are made with the figure (rule all asks only for the figures)
        panels=lambda wildcards: expand(
            "results/figures/panels/{panel}.{ext}", panel=FIGURE_PANELS[wildcards.figure], ext=REPORT_FORMAT
        ),
    output:
        **figure_outputs(
            "results/figures/{figure}",
            category=lambda wildcards: PANEL_CATEGORIES[FIGURE_PANELS[wildcards.figure][0]],
            subcategory="Publication figures",
            labels={"figure": "{figure}", "type": "assembled figure"},
        ),
    log:
        "logs/figure_{figure}.log",
    benchmark:
        "benchmarks/figure_{figure}.tsv"
    wildcard_constraints:
        figure="|".join(FIGURES),
    conda:
        "../envs/figures.yaml"
    resources:
        mem_mb=mem_mb(800, 5),
        runtime=10,
    params:
        figure=lambda wildcards: config["figures"][wildcards.figure],
        groups=GROUPS,
        figure_style=config["figure_style"],
        code=code_version(*FIGURE_MODULES),
    script:
        "../scripts/figure.py"
