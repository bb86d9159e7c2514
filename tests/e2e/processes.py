"""Start the project's real processes (CLI runs) and always clean them up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MATERIALIZE_MARKET = [
    str(BIN / "dagster"),
    "asset",
    "materialize",
    "-m",
    "workshop_dagster.definitions",
    "--select",
    "group:market",
]


def missing(what: str) -> NoReturn:
    """A program or facility this machine lacks: skip naming it, or fail in CI, whose .ci/run
    installs it."""
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


def env_with(extra: dict[str, str]) -> dict[str, str]:
    """The test's settings only, but the session's great_expectations worker and the tests'
    three cycles a day (conftest: a range "09:15 .. 19:15" is three cycles), so the processes a
    test starts leave no worker behind once the session ends. A test of the default cadence
    drops WORKSHOP_CYCLE_CRON."""
    kept = ("WORKSHOP_RUNTIME_DIR", "WORKSHOP_CYCLE_CRON")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSHOP_") or k in kept}
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child in its own session, so the whole process group can be ended."""
    return subprocess.Popen(
        args,
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run(args: list[str], env: dict[str, str], timeout: float = 300) -> tuple[int, str]:
    return finish(start(args, env), timeout)
