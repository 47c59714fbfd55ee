"""How a rule's script runs its step: the log, the exit status and the outputs of a failed step, in one place."""

import sys
from pathlib import Path

from chartreview.core.errors import InputError
from chartreview.core.escaping import terminal


def run_step(snakemake, step, label: str | None = None, **arguments) -> None:
    """Run ``step(inputs=..., outputs=..., **params, **arguments)`` for the rule whose script calls this.

    ``inputs`` and ``outputs`` are the rule's named files (name -> path), params the rule's params but the
    code digest (a param only so that changed code reruns the rule). Standard error goes to the rule's log,
    and so does a line the step returns. An ``InputError`` ends the step with its message (after
    ``label: ``; control characters escaped) in the log and on the terminal, exit status 1 and no traceback;
    any failure removes what the step wrote of its outputs, so a failed step leaves nothing that looks
    finished.
    """
    sys.stderr = open(snakemake.log[0], "w")  # left open: a traceback of a bug goes there too
    params = {name: value for name, value in snakemake.params.items() if name != "code"}
    try:
        note = step(inputs=dict(snakemake.input.items()), outputs=dict(snakemake.output.items()),
                    **params, **arguments)
    except InputError as exc:
        remove_files(snakemake.output)
        message = terminal(f"{label}: {exc}" if label else exc)
        print(message, file=sys.stderr)
        print(message, file=sys.__stderr__)
        sys.exit(1)
    except BaseException:
        remove_files(snakemake.output)
        raise
    if note:
        print(terminal(note), file=sys.stderr)


def remove_files(paths) -> None:
    for path in map(Path, paths):
        if path.is_file():
            path.unlink()
