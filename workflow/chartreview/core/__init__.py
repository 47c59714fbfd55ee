"""Shared contracts and names at the bottom of the package: the data dictionary, the result files, rounding for readers. Imports nothing else of the package."""
