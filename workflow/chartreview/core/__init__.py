"""Shared contracts and names at the bottom of the package: the catalog of names, the data dictionary, the
config schema's defaults, the tables passed between stages, errors, the step runner, the result files and
rounding for readers. Imports nothing else of the package."""
