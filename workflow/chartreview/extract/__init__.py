"""Stage 1, rule file extract.smk: a REDCap export and its data dictionary -> typed, de-identified tables."""
