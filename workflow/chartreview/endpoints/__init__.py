"""Stage 4, rule file endpoints.smk: one analysis per endpoint, from the derived tables to a JSON result."""
