#!/usr/bin/env bash
# Start a one-node SLURM on this machine without systemd: munged, slurmctld and slurmd, with
# state, spool, logs and pid files under SLURM_TEST_DIR (default /tmp/chartreview-slurm).
# Installs slurm-wlm and munge first when missing. Idempotent: stops a previous test cluster
# (by its pid files) and starts from a clean state. Waits until the node is idle.
# Afterwards: export SLURM_CONF=$SLURM_TEST_DIR/etc/slurm.conf (as in common.sh) for sbatch/squeue.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
as_root "$@"

"$here/install.sh"
"$here/stop.sh"

host=$(hostname -s)
# RealMemory: what the machine has (MemTotal, as `free -m` shows it; procps may be absent),
# minus a margin for the OS and the submitting Snakemake (a node reporting less memory than
# configured would be drained; the jobs' mem_mb must fit in what is configured).
total_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
margin_mb=$(( total_mb / 10 > 1024 ? total_mb / 10 : 1024 ))
mem_mb=$(( total_mb - margin_mb ))

rm -rf "$SLURM_TEST_DIR/state" "$SLURM_TEST_DIR/spool" "$SLURM_TEST_DIR/log" "$SLURM_TEST_DIR/munge"
mkdir -p "$SLURM_TEST_DIR"/{etc,state,spool,log,run,munge}
chmod 0755 "$SLURM_TEST_DIR"
chown munge:munge "$SLURM_TEST_DIR/munge"
chmod 0755 "$SLURM_TEST_DIR/munge"  # munged requires the socket directory to be searchable by all

sed -e "s|@DIR@|$SLURM_TEST_DIR|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|$SLURM_TEST_CPUS|g" \
    -e "s|@MEM_MB@|$mem_mb|g" -e "s|@PARTITION@|$SLURM_TEST_PARTITION|g" \
    -e "s|@CTLD_PORT@|$SLURM_TEST_CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURM_TEST_SLURMD_PORT|g" \
    "$here/slurm.conf.in" > "$SLURM_CONF"
if [ -e "$SYSTEM_SLURM_CONF" ] && [ "$(readlink "$SYSTEM_SLURM_CONF")" != "$SLURM_CONF" ]; then
    echo "test-slurm: $SYSTEM_SLURM_CONF exists and is not this test's: this host has its own SLURM," \
         "which the test cluster must not replace. Run make test-slurm on a machine without one." >&2
    exit 1
fi
mkdir -p "$(dirname "$SYSTEM_SLURM_CONF")"
ln -sfn "$SLURM_CONF" "$SYSTEM_SLURM_CONF"
echo "wrote $SLURM_CONF: node $host, CPUs=$SLURM_TEST_CPUS, RealMemory=$mem_mb MB, partition $SLURM_TEST_PARTITION"

# The key (Debian's munge package makes one) must belong to the munge user, readable by no one else.
if [ ! -s "$MUNGE_KEY" ]; then
    echo "creating munge key $MUNGE_KEY"
    mkdir -p "$(dirname "$MUNGE_KEY")"
    (umask 0277 && dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none)
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
fi

fail() {
    echo "test-slurm: $*" >&2
    for f in "$SLURM_TEST_DIR"/munge/munged.log "$SLURM_TEST_DIR"/log/slurmctld.log "$SLURM_TEST_DIR"/log/slurmd.log; do
        [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 20 "$f" >&2; }
    done
    "$here/stop.sh" >&2
    exit 1
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds=$1 what=$2; shift 2
    for _ in $(seq $(( seconds * 5 ))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    fail "$what did not happen within $seconds s"
}

# munged as the munge user (it refuses a root-owned setup), on our own socket.
runuser -u munge -- munged --socket="$MUNGE_SOCKET" --key-file="$MUNGE_KEY" \
    --pid-file="$SLURM_TEST_DIR/munge/munged.pid" --log-file="$SLURM_TEST_DIR/munge/munged.log" \
    --seed-file="$SLURM_TEST_DIR/munge/munged.seed" \
    || fail "munged did not start"
wait_for 10 "munge credential round trip" bash -c "munge -S '$MUNGE_SOCKET' -n | unmunge -S '$MUNGE_SOCKET'"
echo "munged running (pid $(pid_of munged munged))"

slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
wait_for 20 "slurmctld answering" scontrol ping
echo "slurmctld running (pid $(pid_of slurmctld slurmctld))"

slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
node_idle() { [ "$(sinfo -h -n "$host" -o %T)" = idle ]; }
wait_for 60 "node $host idle in sinfo" node_idle
echo "slurmd running (pid $(pid_of slurmd slurmd)); node $host idle:"
sinfo
