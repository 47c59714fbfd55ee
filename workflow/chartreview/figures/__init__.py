"""Stage 5, rule file figures.smk: figure panels and their assembly into publication figures."""
