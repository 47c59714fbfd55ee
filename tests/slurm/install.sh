#!/usr/bin/env bash
# Install Debian's SLURM (controller, node daemon, client) and MUNGE when missing.
# Idempotent: does nothing when every command is already there. Needs root and apt.
set -euo pipefail

needed=(munged slurmctld slurmd sbatch squeue sinfo scontrol)
missing=()
for cmd in "${needed[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "slurm and munge already installed: $(slurmctld -V)"
    exit 0
fi

echo "installing slurm-wlm and munge (missing: ${missing[*]})"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Package scripts must not try to start services (there may be no init system).
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
echo "installed: $(slurmctld -V)"
