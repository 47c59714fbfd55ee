#!/usr/bin/env bash
# make test-slurm: the workflow through Snakemake's SLURM executor on a real (one-node) SLURM,
# compared byte for byte with a local run.
#
#   tests/slurm/run.sh [--smoke-only]
#
# 1. start.sh: installs slurm-wlm and munge when missing, starts munged, slurmctld and slurmd
#    (no systemd), waits for the node to be idle.
# 2. Smoke test: tests/slurm/smoke/Snakefile (two rules) through the executor; each job must have
#    run in SLURM with its rule's threads, mem_mb and runtime.
# 3. The workflow (one job of each rule kind: TARGETS, tests/slurm/config.yaml), from two copies of this
#    work tree: locally (--cores 2) and through the executor with workflow/profiles/slurm; every SLURM job checked as in 2; results/ of
#    both runs must be byte-identical (diff -r; the sha256 lists are kept).
# 4. stop.sh, also on failure or interrupt: stops the daemons it started, by their pid files.
# Work directories: $SLURM_TEST_WORK (default /tmp/chartreview-slurm-work), replaced on each run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/common.sh"
WORK=${SLURM_TEST_WORK:-/tmp/chartreview-slurm-work}
export PATH="$repo/.venv/bin:$PATH"   # the jobs run the same snakemake, from the same venv
SNAKEMAKE="$repo/.venv/bin/snakemake"
PYTHON="$repo/.venv/bin/python"
SLURM_ARGS=(
    --profile "$repo/workflow/profiles/slurm"
    --executor slurm
    # No accounting database here: squeue is the status source (the cluster keeps finished
    # jobs visible for MinJobAge, an hour).
    --slurm-status-command squeue
    # First poll after 10 s, then every 10 s while jobs finish (+10 s when none did): a job
    # here takes 6-13 s, most of it the Snakemake start-up inside the job.
    --slurm-init-seconds-before-status-checks 10
    # The site setting a user puts in the profile's default-resources.
    --default-resources "slurm_partition=$SLURM_TEST_PARTITION"
)

# The files the comparison asks for: every endpoint, table, the summary and provenance, one variant's
# branch and one figure (its job also writes the figure's panels alone); the other figures' rules and the
# one for the panels without a figure are the same code and rule form, run locally by the test suite.
# (the targets first and --configfile last: options such as --configfile and --default-resources take every
# word that follows them)
TARGETS=(
    results/validation/queries.html results/derived/audit.html results/summary.html results/provenance.json
    results/tables/tables.docx results/tables/sensitivity.csv results/figures/figure1.pdf
)
CONFIG=(--configfile tests/slurm/config.yaml)

smoke_only=false
[ "${1:-}" = "--smoke-only" ] && smoke_only=true

t0=$SECONDS
elapsed() { echo "[$(( SECONDS - t0 )) s]"; }
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    echo "test-slurm: stopping the test cluster $(elapsed)"
    "$here/stop.sh" || true
    if [ "$status" -eq 0 ]; then
        echo "test-slurm: passed $(elapsed)"
    else
        echo "test-slurm: FAILED (exit $status); work directories kept in $WORK" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "test-slurm: $*" >&2; exit 1; }

"$here/start.sh"
echo "test-slurm: cluster up $(elapsed)"

rm -rf "$WORK"
mkdir -p "$WORK"

# --- 2. smoke test -----------------------------------------------------------------------
mkdir -p "$WORK/smoke"
cp "$here/smoke/Snakefile" "$WORK/smoke/"
echo "test-slurm: smoke workflow through SLURM (log: $WORK/smoke.log)"
(cd "$WORK/smoke" && "$SNAKEMAKE" "${SLURM_ARGS[@]}" >"$WORK/smoke.log" 2>&1) \
    || { tail -n 40 "$WORK/smoke.log" >&2; fail "the smoke workflow failed through SLURM"; }
"$PYTHON" "$here/check_jobs.py" "$WORK/smoke.log"
[ "$(cat "$WORK/smoke/results/total.txt")" = 161 ] \
    || fail "smoke workflow: results/total.txt is '$(cat "$WORK/smoke/results/total.txt")', expected 161"
echo "test-slurm: smoke test passed $(elapsed)"
$smoke_only && exit 0

# --- 3. the whole workflow, locally and through SLURM ----------------------------------------
snapshot() {  # the work tree as a fresh clone plus uncommitted files would have it, with its .git
    mkdir -p "$1"
    if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$repo" && git ls-files -z --cached --others --exclude-standard \
            | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
            | tar --null -T - -cf -) | tar -C "$1" -xf -
        # so that the provenance record names the same commit and dirty flag as in the checkout
        if [ -d "$repo/.git" ]; then cp -a "$repo/.git" "$1/.git"; fi
    else
        tar -C "$repo" --exclude=./.venv --exclude=./results --exclude=./logs \
            --exclude=./benchmarks --exclude=./.snakemake -cf - . | tar -C "$1" -xf -
    fi
}
# One snapshot, copied twice: other edits to the work tree meanwhile cannot make the runs differ.
snapshot "$WORK/tree"
cp -a "$WORK/tree" "$WORK/local"
mv "$WORK/tree" "$WORK/slurm"

echo "test-slurm: local run, --cores 2 (log: $WORK/local.log)"
(cd "$WORK/local" && "$SNAKEMAKE" --cores 2 "${TARGETS[@]}" "${CONFIG[@]}" >"$WORK/local.log" 2>&1) \
    || { tail -n 40 "$WORK/local.log" >&2; fail "the local run failed"; }
echo "test-slurm: local run done $(elapsed)"

echo "test-slurm: SLURM run, --profile workflow/profiles/slurm (log: $WORK/slurm.log)"
(cd "$WORK/slurm" && "$SNAKEMAKE" "${TARGETS[@]}" "${SLURM_ARGS[@]}" "${CONFIG[@]}" >"$WORK/slurm.log" 2>&1) \
    || { tail -n 60 "$WORK/slurm.log" >&2; fail "the run through SLURM failed"; }
echo "test-slurm: SLURM run done $(elapsed)"
"$PYTHON" "$here/check_jobs.py" "$WORK/slurm.log"

manifest() { (cd "$1/results" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); }
manifest "$WORK/local" >"$WORK/local.sha256"
manifest "$WORK/slurm" >"$WORK/slurm.sha256"
n_files=$(wc -l <"$WORK/local.sha256")
[ "$n_files" -gt 0 ] || fail "the local run wrote nothing under results/"
if ! diff -r "$WORK/local/results" "$WORK/slurm/results" >"$WORK/results.diff" 2>&1; then
    diff "$WORK/local.sha256" "$WORK/slurm.sha256" >&2 || true
    fail "results/ of the SLURM run differ from the local run (see $WORK/results.diff)"
fi
echo "test-slurm: results/ byte-identical between the local and the SLURM run ($n_files files) $(elapsed)"
