"""How a rule's script runs its step: the log, the exit status and the outputs of a failed step, in one place."""

import contextlib
import ctypes
import os
import sys
from pathlib import Path

from chartreview.core.errors import InputError
from chartreview.core.escaping import terminal

# glibc's mallopt parameters (malloc.h) and the size from which freed memory goes back to the system at once
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
RETURNED_FROM_BYTES = 1 << 20


def return_freed_memory() -> None:
    """Have the process give memory it frees back to the system at once instead of keeping it for reuse: its
    peak is then what it holds, not also what it held. For a step whose peak is the limit (extraction of a
    million patients: 3.03 to 3.18 million kB at most resident, 2.75 million with this, for 8% more time);
    a step of many short-lived arrays pays more for it (derivation: 15% slower). Call it before
    pyarrow is first imported: Arrow's allocator (mimalloc) reads its option then; the C library's (glibc's,
    for large blocks) is set here, where there is one."""
    os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. macOS): its own defaults stay
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mallopt(M_MMAP_THRESHOLD, RETURNED_FROM_BYTES)
    mallopt(M_TRIM_THRESHOLD, RETURNED_FROM_BYTES)


def run_step(snakemake, step, label: str | None = None, **arguments) -> None:
    """Run ``step(inputs=..., outputs=..., **params, **arguments)`` for the rule whose script calls this.

    ``inputs`` and ``outputs`` are the rule's named files (name -> path), params the rule's params but the
    code digest (a param only so that changed code reruns the rule). Standard error goes to the rule's log,
    and so does a line the step returns. An ``InputError`` ends the step with its message (after
    ``label: ``; control characters escaped) in the log and on the terminal, exit status 1 and no traceback;
    so does an error of the operating system (a full disk, a permission), as one line naming the path and the
    reason. Any failure removes what the step wrote of its outputs, so a failed step leaves nothing that looks
    finished.
    """
    try:
        sys.stderr = open(snakemake.log[0], "w")  # left open: a traceback of a bug goes there too
    except OSError as exc:
        stop_on_os_error(exc, snakemake.log, label)
    params = {name: value for name, value in snakemake.params.items() if name != "code"}
    try:
        note = step(inputs=dict(snakemake.input.items()), outputs=dict(snakemake.output.items()),
                    **params, **arguments)
    except InputError as exc:
        remove_files(snakemake.output)
        stop(f"{label}: {exc}" if label else str(exc))
    except OSError as exc:
        remove_files(snakemake.output)
        if exc.errno is None:  # not the operating system's (a library's own error): a bug, traceback to the log
            raise
        stop_on_os_error(exc, snakemake.output, label)
    except BaseException:
        remove_files(snakemake.output)
        raise
    try:
        if note:
            print(terminal(note), file=sys.stderr)
        sys.stderr.flush()
    except OSError as exc:  # the log's disk is full: the step is not finished without its log
        remove_files(snakemake.output)
        stop_on_os_error(exc, snakemake.log, label)
    finish()


def finish() -> None:
    """End the finished step's process with exit status 0, its output streams flushed and its log closed,
    without the interpreter's teardown: there Arrow's thread pools can abort the process at random
    (std::terminate on a worker thread still running), failing a step whose files are written."""
    for stream in (sys.stdout, sys.__stdout__, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    if sys.stderr is not sys.__stderr__:
        with contextlib.suppress(OSError):
            sys.stderr.close()
    os._exit(0)


def io_message(exc: OSError, paths) -> str:
    """The path and the operating system's reason, in one line: the text of the error number, never the
    error's own message (a library's may quote what it was writing). A write to a full disk names no file:
    then the message names the paths being written (``paths``)."""
    reason = os.strerror(exc.errno) if exc.errno is not None else "input/output error"
    if exc.filename is not None:
        return f"{reason}: {os.fsdecode(exc.filename)}"
    paths = [str(p) for p in paths]
    where = ", ".join(paths) if len(paths) <= 3 else f"the files under {os.path.commonpath(paths) or '.'}"
    return f"{reason} (writing {where})"


def stop_on_os_error(exc: OSError, paths, label: str | None) -> None:
    """``stop`` with ``io_message``."""
    stop(f"{label}: {io_message(exc, paths)}" if label else io_message(exc, paths))


def stop(message: str) -> None:
    """Exit status 1 with ``message`` (control characters escaped) on the terminal and in the log. The log
    may be on a full disk: the terminal gets the line first, and a log that cannot take it is closed quietly
    (its full buffer would otherwise be flushed again, noisily, at exit)."""
    message = terminal(message)
    print(message, file=sys.__stderr__)
    log, sys.stderr = sys.stderr, sys.__stderr__
    if log is not sys.__stderr__:
        with contextlib.suppress(OSError):
            print(message, file=log)
        with contextlib.suppress(OSError):
            log.close()
    sys.exit(1)


def remove_files(paths) -> None:
    for path in map(Path, paths):
        try:
            if path.is_file():
                path.unlink()
        except OSError:  # e.g. a read-only directory: the step's own message says why it failed
            pass
