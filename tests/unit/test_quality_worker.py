"""The great_expectations worker: the run process's verdict, shared by processes, gone when idle."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client

import pandas as pd
import pytest

from workshop_dagster.platform import quality_worker
from workshop_dagster.predictions.quality import validate_predictions


def _calls(direction: str) -> pd.DataFrame:
    rows = [
        {
            "cycle_key": "2026-03-02-19:15",
            "source": source,
            "parse_status": "parsed",
            "direction": direction,
            "confidence": 0.6,
            "timeframe_hours": 24.0,
            "horizon_end": pd.Timestamp("2026-03-03 16:00"),
            "ticker": "SPY",
            "relative_to": None,
        }
        for source in ("synthesis", "macro", "flow", "contrarian")
    ]
    return pd.DataFrame(rows)


def _worker_pid(runtime_dir) -> int:
    return json.loads(quality_worker.address_file(runtime_dir).read_text())["pid"]


def _gone(pid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # The worker is our child: reap it, or it lingers as a zombie that kill(0) still sees.
        for proc in quality_worker._spawned:  # noqa: SLF001
            proc.poll()
        time.sleep(0.1)
    return False


@pytest.fixture
def runtime_dir(tmp_path):
    """A worker of the test's own (for the tests that stop, kill or orphan it)."""
    yield tmp_path / "run"
    quality_worker.stop()
    quality_worker.shutdown(tmp_path / "run")


@pytest.fixture(scope="module")
def serving_dir(tmp_path_factory):
    """One worker for the tests that only ask it (each start imports great_expectations, ~10 s
    of a CPU), as the runs of a session share one."""
    folder = tmp_path_factory.mktemp("serving") / "run"
    yield folder
    quality_worker.stop()
    quality_worker.shutdown(folder)


def test_the_worker_gives_the_in_process_verdict(serving_dir):
    good, bad = _calls("up"), _calls("sideways")
    assert quality_worker.validate(good, 1, serving_dir) == validate_predictions(good, 1)
    failures, evaluated = quality_worker.validate(bad, 1, serving_dir)
    assert (failures, evaluated) == validate_predictions(bad, 1)
    assert [f.expectation for f in failures] == ["expect_column_values_to_be_in_set"]
    assert failures[0].column == "direction" and failures[0].unexpected_count == 4


def test_runs_in_other_processes_share_one_worker(serving_dir):
    quality_worker.validate(_calls("up"), 1, serving_dir)
    pid = _worker_pid(serving_dir)
    script = (
        "import sys\n"
        "from tests.unit.test_quality_worker import _calls\n"
        "from workshop_dagster.platform import quality_worker\n"
        f"failures, _ = quality_worker.validate(_calls('sideways'), 1, {str(serving_dir)!r})\n"
        "assert [f.column for f in failures] == ['direction'], failures\n"
        "print('great_expectations' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"  # served by the worker: no import in that process
    assert _worker_pid(serving_dir) == pid  # the same worker


def test_the_address_is_private_and_the_key_is_required(serving_dir):
    quality_worker.validate(_calls("up"), 1, serving_dir)
    target = quality_worker.address_file(serving_dir)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    port = json.loads(target.read_text())["port"]
    with pytest.raises(AuthenticationError):
        Client(("127.0.0.1", port), authkey=b"not the key")
    assert quality_worker.validate(_calls("up"), 1, serving_dir)[0] == []  # still serving


def test_an_idle_worker_exits_and_removes_its_address(runtime_dir):
    quality_worker.validate(_calls("up"), 1, runtime_dir, idle_seconds=1)
    pid = _worker_pid(runtime_dir)
    time.sleep(2)
    assert not _gone(pid, within_s=0.5)  # a connection is open: not idle
    quality_worker.stop()
    assert _gone(pid)
    assert not quality_worker.address_file(runtime_dir).exists()


def test_a_worker_whose_address_is_deleted_exits(runtime_dir):
    quality_worker.validate(_calls("up"), 1, runtime_dir)
    pid = _worker_pid(runtime_dir)
    quality_worker.address_file(runtime_dir).unlink()  # as when the data folder is removed
    assert _gone(pid)


def test_a_dead_worker_falls_back_to_the_run_process(runtime_dir):
    quality_worker.validate(_calls("up"), 1, runtime_dir)
    pid = _worker_pid(runtime_dir)
    os.kill(pid, signal.SIGKILL)
    assert _gone(pid)
    failures, _ = quality_worker.validate(_calls("sideways"), 1, runtime_dir)
    assert failures and failures[0].column == "direction"
    assert quality_worker.validate(_calls("up"), 1, runtime_dir)[0] == []
    assert _worker_pid(runtime_dir) != pid  # a new worker serves the next runs


def test_an_error_in_the_worker_is_raised_in_the_run(serving_dir):
    with pytest.raises(KeyError, match="parse_status"):
        quality_worker.validate(pd.DataFrame({"source": ["synthesis"]}), 1, serving_dir)
