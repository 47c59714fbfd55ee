# Endpoint results, derived patients and patient flow -> the multi-panel publication figures of config
# `figures:` (results/figures/<figure>.<format>, the formats of config figure_style) and the stand-alone
# panels (results/figures/panels/). One job per figure draws its assembled figure and the stand-alone panels
# of its layout (FIGURE_PANELS_ALONE): a panel costs a drawing, a job a Python and matplotlib start-up. A
# figure's params are only its own `figures:` entry, its panels and figure_style, so a changed layout reruns
# only that figure's job.

FIGURE_MODULES = ("figures",)
FIGURE_CODE = code_version(*FIGURE_MODULES)


for _figure, _panels in FIGURE_PANELS_ALONE.items():

    rule:
        name:
            f"figure_{_figure}"
        input:
            **figure_inputs(FIGURE_PANELS[_figure]),
        output:
            **figure_outputs(
                f"results/figures/{_figure}",
                category=PANEL_CATEGORIES[FIGURE_PANELS[_figure][0]],
                subcategory="Publication figures",
                labels={"figure": _figure, "type": "assembled figure"},
            ),
            **panel_outputs(_panels),
        log:
            f"logs/figure_{_figure}.log",
        benchmark:
            f"benchmarks/figure_{_figure}.tsv"
        conda:
            "../envs/figures.yaml"
        resources:
            mem_mb=mem_mb(800, 5),
            runtime=10,
        params:
            figure=config["figures"][_figure],
            panels=_panels,
            groups=GROUPS,
            figure_style=config["figure_style"],
            code=FIGURE_CODE,
        script:
            "../scripts/figure.py"


# A panel no configured figure holds is drawn alone all the same (e.g. love while weighting is off).
if PANELS_WITHOUT_FIGURE:

    rule panels_without_figure:
        input:
            **figure_inputs(PANELS_WITHOUT_FIGURE),
        output:
            **panel_outputs(PANELS_WITHOUT_FIGURE),
        log:
            "logs/panels_without_figure.log",
        benchmark:
            "benchmarks/panels_without_figure.tsv"
        conda:
            "../envs/figures.yaml"
        resources:
            mem_mb=mem_mb(800, 5),
            runtime=10,
        params:
            panels=PANELS_WITHOUT_FIGURE,
            groups=GROUPS,
            figure_style=config["figure_style"],
            code=FIGURE_CODE,
        script:
            "../scripts/figure.py"
