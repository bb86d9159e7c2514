"""The great_expectations gate in a warm worker process shared by a project's runs.

Importing great_expectations costs seconds of CPU (docs/performance.md; its package loads the data-context machinery and
scipy). A thread cannot hide it (the import holds the GIL); a second process can, and one that
outlives a run spares the next runs the import altogether: in a backfill launched from the UI
(one run per cycle) or a series of CLI runs, only the first run pays it, and that one overlaps
it with its first steps.

- A run calls `start` when it sets up its resources. In the background it connects to the
  worker named by `<runtime_dir>/quality-worker-<version>.json`, or starts one (under a file
  lock, so runs starting together start one between them), and goes on with its steps.
- The worker listens on 127.0.0.1 through `multiprocessing.connection`, with a random key kept
  in the address file (mode 0600): both sides prove they hold it before any pickle crosses.
- `version` hashes this code, the gate's, the great_expectations and pandas versions and the
  interpreter: an edited or upgraded gate never talks to an old worker.
- The worker exits `idle_seconds` after its last connection closed, or as soon as its address
  file is gone or names another worker (a deleted data folder, a newer worker).
- If the worker cannot be reached, dies or hangs, the run validates in its own process: the
  verdict never depends on where it was computed.

The worker is `python -m workshop_dagster.platform.quality_worker`, not a multiprocessing
pool: a spawned pool re-runs the parent's main script, which a user's unguarded script would not
survive. This module imports only the standard library at load, so the worker listens at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from functools import lru_cache
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from ..predictions.quality import Failure

log = logging.getLogger(__name__)

IDLE_SECONDS = 300
CONNECT_TIMEOUT_S = 60  # a worker that has not answered by then is not waited for
REPLY_TIMEOUT_S = 300  # the import (~3 s) plus one validation, with a wide margin
_HERE = Path(__file__).resolve()
_PACKAGE = _HERE.parent.parent
_GATE_SOURCES = (
    _HERE,
    _PACKAGE / "predictions" / "quality.py",
    _PACKAGE / "market" / "universe.py",
    _PACKAGE / "registry" / "minds.py",  # the sources a call may come from
)


@lru_cache(maxsize=1)
def version() -> str:
    """What a worker must share with its client: the gate's code and the libraries it runs on."""
    from importlib.metadata import version as installed

    parts = [sys.executable, installed("great_expectations"), installed("pandas")]
    parts += [path.read_text() for path in _GATE_SOURCES]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def address_file(runtime_dir: str | Path) -> Path:
    return Path(runtime_dir) / f"quality-worker-{version()}.json"


# ---- the run's side ------------------------------------------------------------------------


class _Link:
    """This process's connection to one worker: opened in the background, used under a lock."""

    def __init__(self, runtime_dir: Path, idle_seconds: float) -> None:
        self.lock = threading.Lock()
        self.conn: Connection | None = None
        self.broken = False
        self._opening = threading.Thread(
            target=self._open, args=(runtime_dir, idle_seconds), daemon=True
        )
        self._opening.start()

    def _open(self, runtime_dir: Path, idle_seconds: float) -> None:
        try:
            self.conn = _connect(runtime_dir, idle_seconds)
        except Exception as exc:  # noqa: BLE001 - the run validates in its own process instead
            log.warning("no great_expectations worker (%s); validating in the run process", exc)
            self.broken = True

    def validate(self, frame: pd.DataFrame, n_cycles: int) -> tuple[list[Failure], int] | None:
        """The worker's verdict, or None if it cannot give one."""
        self._opening.join(CONNECT_TIMEOUT_S + REPLY_TIMEOUT_S)
        with self.lock:
            if self.conn is None:
                self.broken = True
                return None
            try:
                self.conn.send(("validate", frame, n_cycles))
                if not self.conn.poll(REPLY_TIMEOUT_S):
                    raise TimeoutError(f"no reply in {REPLY_TIMEOUT_S} s")
                status, value = self.conn.recv()
            except (EOFError, OSError) as exc:
                log.warning("the great_expectations worker failed (%r); validating here", exc)
                self.close()
                return None
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        self.broken = True
        if self.conn is not None:
            self.conn.close()


_links: dict[Path, _Link] = {}
_links_lock = threading.Lock()
_spawned: list[subprocess.Popen] = []  # kept, so no ResourceWarning while a worker lives


def start(runtime_dir: str | Path, idle_seconds: float = IDLE_SECONDS) -> None:
    """Connect to the project's worker, or start one, without waiting for it."""
    _link(Path(runtime_dir), idle_seconds)


def _link(runtime_dir: Path, idle_seconds: float) -> _Link:
    with _links_lock:
        link = _links.get(runtime_dir)
        if link is None or link.broken:
            link = _links[runtime_dir] = _Link(runtime_dir, idle_seconds)
        return link


def validate(
    frame: pd.DataFrame,
    n_cycles: int,
    runtime_dir: str | Path,
    idle_seconds: float = IDLE_SECONDS,
) -> tuple[list[Failure], int]:
    """`validate_predictions` in the worker; in this process if the worker cannot serve."""
    verdict = _link(Path(runtime_dir), idle_seconds).validate(frame, n_cycles)
    if verdict is not None:
        return verdict
    from ..predictions.quality import validate_predictions

    return validate_predictions(frame, n_cycles)


def stop() -> None:
    """Close this process's connections (the workers stay for the next runs)."""
    with _links_lock:
        links = list(_links.values())
        _links.clear()
    for link in links:
        link.close()


def shutdown(runtime_dir: str | Path) -> None:
    """Ask the project's worker to exit now (tests, and anyone who wants the memory back)."""
    conn = _dial(address_file(runtime_dir))
    if conn is not None:
        with conn:
            conn.send(("exit",))
            conn.poll(10)


def _connect(runtime_dir: Path, idle_seconds: float) -> Connection:
    from filelock import FileLock

    runtime_dir.mkdir(parents=True, exist_ok=True)
    target = address_file(runtime_dir)
    with FileLock(f"{target}.lock", timeout=CONNECT_TIMEOUT_S):
        conn = _dial(target)
        if conn is None:
            _spawn(target, idle_seconds)
            conn = _dial(target)
    if conn is None:
        raise RuntimeError(f"the worker started but does not answer (see {_log_file(target)})")
    return conn


def _dial(target: Path) -> Connection | None:
    """A connection to the worker named in `target`, or None if there is no live one."""
    try:
        info = json.loads(target.read_text())
        os.kill(info["pid"], 0)  # a dead worker's port may belong to anyone by now
        return Client(("127.0.0.1", info["port"]), authkey=bytes.fromhex(info["authkey"]))
    except (OSError, ValueError, KeyError, TypeError, EOFError, AuthenticationError):
        return None


def _spawn(target: Path, idle_seconds: float) -> None:
    """Start a worker and return once it listens (its great_expectations import goes on)."""
    with open(_log_file(target), "ab") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(target), str(idle_seconds)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, "GX_ANALYTICS_ENABLED": "False"},
        )
    _spawned.append(proc)
    listening = proc.stdout.readline()
    proc.stdout.close()
    if not listening:
        raise RuntimeError(f"the worker exited at start (see {_log_file(target)})")


def _log_file(target: Path) -> Path:
    return target.with_suffix(".log")


# ---- the worker's side ---------------------------------------------------------------------


class _Worker:
    """What the watchdog needs to know: open connections and when the last one closed."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.lock = threading.Lock()
        self.validating = threading.Lock()  # one validation at a time: GE is not thread-safe
        self.open = 0
        self.last_closed = time.monotonic()

    def is_named(self) -> bool:
        try:
            return json.loads(self.target.read_text())["pid"] == os.getpid()
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def exit(self) -> None:
        if self.is_named():
            self.target.unlink(missing_ok=True)
        os._exit(0)  # noqa: SLF001 - connection threads are mid-recv; nothing to flush

    def handle(self, conn: Connection) -> None:
        with self.lock:
            self.open += 1
        try:
            self._serve(conn)
        finally:
            with self.lock:
                self.open -= 1
                self.last_closed = time.monotonic()
            conn.close()

    def _serve(self, conn: Connection) -> None:
        from ..predictions.quality import validate_predictions

        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return
            if request[0] == "exit":
                conn.send(("ok", None))
                self.exit()
            with self.validating:
                try:
                    reply = ("ok", validate_predictions(*request[1:]))
                except Exception as exc:  # noqa: BLE001 - raised in the run that asked
                    reply = ("error", exc)
            try:
                conn.send(reply)
            except (TypeError, AttributeError, ValueError) as exc:  # an unpicklable error
                conn.send(("error", RuntimeError(f"{reply[1]!r} ({exc})")))

    def watch(self, idle_seconds: float) -> None:
        from filelock import FileLock, Timeout

        while True:
            time.sleep(1)
            if not self.is_named():
                self.exit()
            with self.lock:
                idle = self.open == 0 and time.monotonic() - self.last_closed > idle_seconds
            if not idle:
                continue
            try:  # no client is between reading the address and connecting while this is held
                with FileLock(f"{self.target}.lock", timeout=0), self.lock:
                    if self.open == 0:
                        self.exit()
            except Timeout:
                continue


def _write_private(path: Path, data: dict) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    os.replace(partial, path)


def serve(target: Path, idle_seconds: float) -> None:
    """The worker: listen, publish the address, import great_expectations, serve until idle."""
    authkey = secrets.token_bytes(32)
    listener = Listener(("127.0.0.1", 0), authkey=authkey)
    _write_private(
        target, {"port": listener.address[1], "authkey": authkey.hex(), "pid": os.getpid()}
    )
    worker = _Worker(target)
    threading.Thread(target=worker.watch, args=(idle_seconds,), daemon=True).start()
    print("listening", flush=True)
    # Nothing a library prints may reach the client's pipe, and the client stops reading it.
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdout = sys.stderr

    def accept() -> None:
        while True:
            try:
                conn = listener.accept()
            except (AuthenticationError, EOFError, OSError):
                continue  # a caller without the key, or one that hung up mid-handshake
            threading.Thread(target=worker.handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    import great_expectations  # noqa: F401 - the point of the worker: imported before any request

    from ..predictions import quality  # noqa: F401

    threading.Event().wait()  # the watchdog ends the process


if __name__ == "__main__":
    serve(Path(sys.argv[1]), float(sys.argv[2]))
