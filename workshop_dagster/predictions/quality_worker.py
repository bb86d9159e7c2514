"""The great_expectations gate in a warm worker process.

Importing great_expectations costs ~3 s of CPU (its package loads the data-context machinery and
scipy), paid once per run process. A thread cannot hide it (the import holds the GIL), but a
second process can: a run starts this worker when its resources are set up, the import runs on
another core while the market and minds steps run, and the blocking gate then waits only for
what is left of it. One worker per process, shared by every run in it (tests, `make evaluate`);
it exits when the process that started it closes its pipe.

The worker is `python -m workshop_dagster.predictions.quality_worker`, fed pickled frames on
stdin, rather than a multiprocessing pool: a spawned pool re-runs the parent's main script,
which a user's unguarded script would not survive.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading

import pandas as pd

from .quality import Failure, validate_predictions

log = logging.getLogger(__name__)


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "GX_ANALYTICS_ENABLED": "False"},
        )

    def validate(self, frame: pd.DataFrame, n_cycles: int) -> tuple[list[Failure], int]:
        pickle.dump((frame, n_cycles), self.proc.stdin)
        self.proc.stdin.flush()
        status, value = pickle.load(self.proc.stdout)
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()


_worker: _Worker | None = None
_lock = threading.Lock()


def _running() -> _Worker:
    """The live worker, started if there is none (the caller holds `_lock`)."""
    global _worker
    if _worker is None or _worker.proc.poll() is not None:
        _worker = _Worker()
    return _worker


def start() -> None:
    """Start the worker (once per process); it imports great_expectations at once."""
    with _lock:
        _running()


def stop() -> None:
    global _worker
    with _lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.close()
        worker.proc.wait(timeout=10)


def validate(frame: pd.DataFrame, n_cycles: int) -> tuple[list[Failure], int]:
    """`validate_predictions` in the worker; in this process if the worker has died (the
    verdict must not depend on where it was computed)."""
    global _worker
    with _lock:
        worker = _running()
        try:
            return worker.validate(frame, n_cycles)
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):
            log.warning("the great_expectations worker died; validating in the run process")
            worker.close()
            _worker = None
    return validate_predictions(frame, n_cycles)


def _serve() -> None:
    """The worker's loop: (frame, n_cycles) in, ("ok", result) or ("error", exception) out."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing a library prints may reach the reply pipe
    import great_expectations  # noqa: F401 - the point of the worker: import before the first frame

    while True:
        try:
            frame, n_cycles = pickle.load(requests)
        except EOFError:
            return
        try:
            reply = ("ok", validate_predictions(frame, n_cycles))
        except Exception as exc:  # noqa: BLE001 - sent back and raised in the run
            reply = ("error", exc)
        pickle.dump(reply, replies)
        replies.flush()


if __name__ == "__main__":
    _serve()
