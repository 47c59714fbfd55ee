"""Stage 5, rule file tables.smk: manuscript tables from the endpoint results."""
