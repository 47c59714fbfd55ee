"""chartreview: from a chart-review export of a retrospective oncology cohort to a publication package.

One module per concern:
- ``dictionary``: the REDCap data dictionary;
- ``export``: extraction of the export into typed, de-identified tables;
- ``validation`` (pandera contracts) and ``queries`` (the data-query report and the gate);
- ``derivation`` with ``response``, ``events``, ``audit`` and ``texts``: the analysis datasets;
- ``survival``, ``competing_risks`` and ``categorical``: the statistical methods, checked against R;
- ``time_to_event`` (PFS and OS results), ``endpoints`` (one analysis per endpoint), ``tables``;
- ``result_files`` (the one JSON writer) and ``rounding`` (the one rounding for readers);
- ``style``, ``figures`` and ``figure_assembly``: the publication figures;
- ``report``: the results narrative and the provenance record;
- ``synth_cohort`` and ``synth`` (the synthetic example and registries), ``calibration`` (its targets),
  ``benchmark`` (the scale benchmark).
"""

__version__ = "0.1.0"
