# The two commands a new user needs: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all
SNAKEMAKE := $(BIN)/snakemake

.PHONY: run test unit lint dryrun report clean lock bench test-slurm config-doc

# The environment, built from the exact pins in requirements.lock.
$(VENV): $(STAMP)
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	# The package is imported from the work tree (workflow/chartreview), with no build step.
	$(BIN)/python -c 'import site, sys; open(site.getsitepackages()[0] + "/chartreview.pth", "w").write(sys.argv[1] + "\n")' $(CURDIR)/workflow
	touch $(STAMP)

# The whole workflow on the configured export (by default the synthetic example).
run: $(STAMP)
	$(SNAKEMAKE) --cores $(CORES)
	$(SNAKEMAKE) --cores 1 --report results/report.html

# Everything CI runs before the SLURM check: lint, a dry run of the whole DAG and every test, on one worker
# per core (pytest-xdist); a test file's tests run on one worker, so its shared fixtures are built once.
test: lint dryrun $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# The fast tests only (minutes less): leaves out those marked slow, which run the whole workflow.
unit: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m "not slow"

# Snakemake's linter, ruff and snakefmt; silent when all three are clean.
lint: $(STAMP)
	@out=$$($(SNAKEMAKE) --lint 2>&1); status=$$?; \
	if [ $$status -ne 0 ] || echo "$$out" | grep -q '^Lints for'; then echo "$$out"; echo "snakemake --lint is not clean"; exit 1; fi
	@$(BIN)/ruff check --quiet workflow tests
	@out=$$($(BIN)/snakefmt --check Snakefile workflow/rules 2>&1) || { echo "$$out"; echo "snakefmt: run $(BIN)/snakefmt Snakefile workflow/rules"; exit 1; }

dryrun: $(STAMP)
	$(SNAKEMAKE) --dry-run --forceall --quiet rules

# config/README.md from the config schema (a test fails when the committed one differs).
config-doc: $(STAMP)
	$(BIN)/python -m chartreview.core.config_doc

report: $(STAMP)
	$(SNAKEMAKE) --cores 1 --report results/report.html

lock:
	rm -rf /tmp/chartreview-lock && $(PYTHON) -m venv /tmp/chartreview-lock
	/tmp/chartreview-lock/bin/pip install --quiet -e '.[test,lint,slurm]'
	{ echo "# Exact pins for pip (python 3.11). Regenerate: make lock"; \
	  /tmp/chartreview-lock/bin/pip freeze --exclude-editable; } > requirements.lock

# The workflow through Snakemake's SLURM executor on a one-node SLURM started on this machine
# (Debian: installs slurm-wlm and munge with apt when missing; needs root or sudo; starts and
# stops its own munged, slurmctld and slurmd, no systemd). Passes when every job ran in SLURM
# with its rule's resources and results/ is byte-identical to a local run. See tests/slurm/run.sh.
test-slurm: $(STAMP)
	tests/slurm/run.sh

# Scale benchmark: 10 thousand, 100 thousand and 1 million synthetic patients through the whole workflow
# (3 runs each up to 100 thousand, the median kept; one at 1 million), and the statistical kernels against
# lifelines, scikit-survival and R's recorded timings (results/benchmarks/). LABEL names the runs (before,
# after): a label's sizes replace only that label's earlier rows, so two labels give one before/after table.
bench: $(STAMP)
	$(BIN)/python -m chartreview.synthetic.benchmark --sizes $(or $(SIZES),10000 100000 1000000) \
	  --label $(or $(LABEL),current) --out results/benchmarks
	$(BIN)/python -m chartreview.synthetic.benchmark --render-readme --out results/benchmarks

clean:
	rm -rf results logs benchmarks bench .snakemake
