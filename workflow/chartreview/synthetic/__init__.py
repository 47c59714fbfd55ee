"""Tools apart from the DAG: the synthetic cohort and its REDCap export, calibration and the scale benchmark."""
