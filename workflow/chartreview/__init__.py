"""chartreview: from a chart-review export of a retrospective oncology cohort to a publication package.

One subpackage per stage of the DAG, each with the rule file of the same name (workflow/rules/<stage>.smk);
imports point down this list only (tests/workflow/test_architecture.py holds the table):

- ``core``: what every stage shares: ``catalog`` (the workflow's names, standard library only, read by the
  rule files too), ``dictionary`` (the REDCap data dictionary), ``config`` (the schema's defaults) and
  ``config_doc``, ``datasets`` (the tables passed between stages), ``errors`` and ``steps`` (how a rule's
  script runs its step), ``result_files``, ``numbers`` and ``rounding`` (one rounding, one P formatter);
- ``stats``: the statistical kernels, checked against R, arrays in and small records out, no file I/O:
  ``counting`` (the input check and risk-set counts), ``survival``, ``competing_risks``, ``categorical``;
- ``extract`` (``reading``, ``text``, ``redcap``): the export into typed, de-identified tables;
- ``validate``: ``contracts`` (pandera models of every table) and ``queries`` (the report and the gate);
- ``derive``: ``texts`` and ``response`` -> ``rows`` -> ``events`` -> ``rules`` -> ``audit`` ->
  ``derivation``: the analysis datasets and their audit;
- ``endpoints``: ``time_to_event`` (PFS and OS) and ``analyses`` (one analysis per endpoint);
- ``tables`` (``manuscript``), ``figures`` (``style``, ``panels``, ``assembly``), ``report`` (``summary``:
  the results narrative and the provenance record);
- ``synthetic``: tools apart from the DAG: ``cohort`` and ``redcap`` (the synthetic example and
  registries, ``python -m chartreview.synthetic``), ``calibration`` and ``benchmark``.
"""

__version__ = "0.1.0"
