"""Stage 6, rule file report.smk: the results narrative and the provenance record."""
