"""Stage 2, rule file validate.smk: pandera contracts of the extracted tables, the data-query report and the gate."""
