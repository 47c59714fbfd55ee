"""chartreview: from a chart-review export of a retrospective oncology cohort to a publication package.

One module per concern: ``dictionary`` (the REDCap data dictionary), ``export`` (extraction and
de-identification), ``validation`` (pandera contracts and the data-query report), ``derivation``
(analysis datasets), ``survival``, ``competing_risks`` and ``categorical`` (statistical methods),
``endpoints`` (one analysis per endpoint), ``figures`` (with ``style``), ``report`` (narrative and
provenance) and ``synth`` (the synthetic example and registries).
"""

__version__ = "0.1.0"
