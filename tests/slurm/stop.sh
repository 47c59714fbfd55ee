#!/usr/bin/env bash
# Stop the test cluster started by tests/slurm/start.sh: cancel its jobs, then stop slurmd,
# slurmctld and munged by the pids in their pid files (only processes this test started).
# Safe to run at any time, also when nothing runs.
set -uo pipefail
. "$(dirname "$0")/common.sh"
as_root "$@"

# Jobs first: their slurmstepd processes outlive slurmd otherwise.
if pid_of slurmctld slurmctld >/dev/null; then
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
        echo "cancelling test-cluster jobs: $(echo $jobs)"
        scancel $jobs 2>/dev/null || true
        for _ in $(seq 30); do
            [ -z "$(squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
            sleep 1
        done
    fi
fi

stop_daemon() {  # stop_daemon NAME BINARY
    local pid
    pid=$(pid_of "$1" "$2") || { rm -f "$(pidfile_of "$1")"; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        [ -d "/proc/$pid" ] || break
        sleep 0.2
    done
    if [ -d "/proc/$pid" ]; then
        echo "$1 (pid $pid) did not stop on TERM; killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$(pidfile_of "$1")"
    echo "stopped $1 (pid $pid)"
}

stop_daemon slurmd slurmd
stop_daemon slurmctld slurmctld
stop_daemon munged munged
if [ -L "$SYSTEM_SLURM_CONF" ] && [ "$(readlink "$SYSTEM_SLURM_CONF")" = "$SLURM_CONF" ]; then
    rm -f "$SYSTEM_SLURM_CONF"
fi
exit 0
