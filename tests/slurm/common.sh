# Shared settings of tests/slurm/*.sh (sourced, not run).
# The whole test cluster lives under SLURM_TEST_DIR. The one file outside it is the symlink
# /etc/slurm/slurm.conf -> $SLURM_TEST_DIR/etc/slurm.conf, present while the cluster runs: the
# jobstep plugin strips every SLURM_* variable (SLURM_CONF included) before its nested srun, so
# the srun inside a job finds the configuration only at the default path.
SLURM_TEST_DIR=${SLURM_TEST_DIR:-/tmp/chartreview-slurm}
SLURM_TEST_PARTITION=${SLURM_TEST_PARTITION:-chartreview}
SLURM_TEST_CPUS=${SLURM_TEST_CPUS:-2}
# Ports other than SLURM's defaults (6817/6818) so a site's daemons on this host are not disturbed.
SLURM_TEST_CTLD_PORT=${SLURM_TEST_CTLD_PORT:-16817}
SLURM_TEST_SLURMD_PORT=${SLURM_TEST_SLURMD_PORT:-16818}
MUNGE_KEY=${MUNGE_KEY:-/etc/munge/munge.key}
MUNGE_SOCKET="$SLURM_TEST_DIR/munge/munge.socket.2"
export SLURM_CONF="$SLURM_TEST_DIR/etc/slurm.conf"
SYSTEM_SLURM_CONF=/etc/slurm/slurm.conf

# Run this script as root (daemons, munge key), through sudo when not already root.
as_root() {
    if [ "$(id -u)" -ne 0 ]; then
        exec sudo --preserve-env=SLURM_TEST_DIR,SLURM_TEST_PARTITION,SLURM_TEST_CPUS,SLURM_TEST_CTLD_PORT,SLURM_TEST_SLURMD_PORT,MUNGE_KEY "$0" "$@"
    fi
}

# pidfile_of NAME: munged runs as the munge user and writes its pid file in its own directory.
pidfile_of() {
    if [ "$1" = munged ]; then echo "$SLURM_TEST_DIR/munge/munged.pid"; else echo "$SLURM_TEST_DIR/run/$1.pid"; fi
}

# pid_of NAME BINARY: the pid in NAME's pid file when that process is still BINARY started with
# our files (a stale pid file may name a recycled pid: never signal someone else's process).
pid_of() {
    local pidfile pid
    pidfile=$(pidfile_of "$1")
    [ -s "$pidfile" ] || return 1
    pid=$(tr -dc 0-9 < "$pidfile")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$2.*$SLURM_TEST_DIR" || return 1
    echo "$pid"
}
