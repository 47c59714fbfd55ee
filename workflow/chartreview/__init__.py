"""chartreview: from a chart-review export of a retrospective oncology cohort to a publication package.

One module per concern: ``dictionary`` (the REDCap data dictionary), ``export`` (extraction and
de-identification), ``validation`` (pandera contracts) and ``queries``
(the data-query report and the gate), ``derivation``
(analysis datasets), ``survival``, ``competing_risks`` and ``categorical`` (statistical methods),
``time_to_event`` (the PFS and OS results from them),
``endpoints`` (one analysis per endpoint), ``figures`` (with ``style``), ``report`` (narrative and
provenance), ``synth_cohort`` (the synthetic cohort's trajectories) and ``synth`` (the synthetic
example and registries written from it).
"""

__version__ = "0.1.0"
