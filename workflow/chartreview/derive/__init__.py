"""Stage 3, rule file derive.smk: analysis datasets (response, PFS, OS, CNS progression, patterns) and their audit."""
