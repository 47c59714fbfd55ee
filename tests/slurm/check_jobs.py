"""Check, after a Snakemake run through the SLURM executor, that every job really went through SLURM
with the resources its rule declares.

    check_jobs.py SNAKEMAKE_LOG

Reads the run's log (the job blocks Snakemake prints and the plugin's "Job N has been submitted
with SLURM jobid M" lines) and asks squeue (the test cluster keeps finished jobs for MinJobAge)
about the run's jobs. Fails, naming the job, when a non-local job was not submitted, did not end
COMPLETED, or got other CPUs (threads), memory (mem_mb) or time limit (runtime, minutes) than
declared. Prints one line per rule: jobs, where they ran, CPUs, memory, time limit.
"""

import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field

RULE = re.compile(r"^(local)?rule (\w+):$")
SUBMITTED = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+)")
RUN_ID = re.compile(r"^SLURM run ID: (\S+)$")


@dataclass
class Job:
    rule: str
    local: bool
    jobid: str = ""
    threads: int = 1
    resources: dict = field(default_factory=dict)
    slurm_id: str = ""


def parse_log(text):
    """Snakemake's job blocks ("rule x:" ... blank line) and the plugin's submission lines."""
    jobs, submitted, run_id, current = {}, {}, None, None
    for line in text.splitlines():
        if m := RULE.match(line):
            if current is not None and current.jobid:
                jobs[current.jobid] = current
            current = Job(rule=m.group(2), local=bool(m.group(1)))
            continue
        if m := SUBMITTED.match(line):
            submitted[m.group(1)] = m.group(2)
        elif m := RUN_ID.match(line):
            run_id = m.group(1)
        if current is None:
            continue
        stripped = line.strip()
        if not stripped:
            if current.jobid:
                jobs[current.jobid] = current
            current = None
        elif stripped.startswith("jobid: "):
            current.jobid = stripped.split(": ", 1)[1]
        elif stripped.startswith("threads: "):
            current.threads = int(stripped.split(": ", 1)[1])
        elif stripped.startswith("resources: "):
            for item in stripped.split(": ", 1)[1].split(", "):
                key, _, value = item.partition("=")
                current.resources[key] = value
    if current is not None and current.jobid:
        jobs[current.jobid] = current
    for jobid, slurm_id in submitted.items():
        jobs[jobid].slurm_id = slurm_id
    return run_id, jobs


def megabytes(value):
    """squeue's %m: 300M, 2G, 1.50G (binary units, as sbatch --mem)."""
    number, unit = float(value[:-1]), value[-1]
    return round(number * {"M": 1, "G": 1024, "T": 1024 * 1024}[unit])


def minutes(value):
    """squeue's %l: M:SS, H:MM:SS or D-HH:MM:SS."""
    days, _, clock = value.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, mins, secs = parts
    return (int(days or 0) * 24 + hours) * 60 + mins + secs / 60


def squeue(run_id):
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", f"--name={run_id}", "--format=%i|%T|%C|%m|%l"],
        check=True, capture_output=True, text=True,
    ).stdout
    return {f[0]: f[1:] for f in (line.split("|") for line in out.splitlines() if line)}


def check(jobs, slurm):
    problems, summary = [], defaultdict(list)
    for job in sorted(jobs.values(), key=lambda j: int(j.jobid)):
        label = f"job {job.jobid} (rule {job.rule})"
        if job.local:
            summary[job.rule].append("local")
            continue
        if not job.slurm_id:
            problems.append(f"{label} was not submitted to SLURM")
            continue
        if job.slurm_id not in slurm:
            problems.append(f"{label}: SLURM job {job.slurm_id} unknown to squeue")
            continue
        state, cpus, mem, limit = slurm[job.slurm_id]
        summary[job.rule].append(f"slurm cpus={cpus} mem={mem} time={limit}")
        if state != "COMPLETED":
            problems.append(f"{label}: SLURM job {job.slurm_id} ended {state}")
        if int(cpus) != job.threads:
            problems.append(f"{label}: {cpus} CPUs allocated, rule has threads={job.threads}")
        if "mem_mb" in job.resources and megabytes(mem) != int(job.resources["mem_mb"]):
            problems.append(f"{label}: {mem} allocated, rule has mem_mb={job.resources['mem_mb']}")
        if "runtime" in job.resources and minutes(limit) != int(job.resources["runtime"]):
            problems.append(f"{label}: time limit {limit}, rule has runtime={job.resources['runtime']}")
    return problems, summary


def main(log_path):
    run_id, jobs = parse_log(open(log_path).read())
    if run_id is None:
        sys.exit(f"check_jobs: {log_path} has no 'SLURM run ID' line: not a SLURM executor run")
    problems, summary = check(jobs, squeue(run_id))
    for rule, runs in sorted(summary.items()):
        kinds = sorted(set(runs))
        print(f"  {rule:<16} {len(runs):>3} job(s): {'; '.join(kinds)}")
    n_slurm = sum(1 for j in jobs.values() if not j.local)
    print(f"  {n_slurm} job(s) through SLURM, {len(jobs) - n_slurm} local")
    if n_slurm == 0:
        problems.append("no job went through SLURM")
    if problems:
        sys.exit("check_jobs: " + "\n  ".join(["SLURM jobs do not match the rules:"] + problems))


if __name__ == "__main__":
    main(sys.argv[1])
