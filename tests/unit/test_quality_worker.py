"""The great_expectations gate gives the same verdict in its warm worker as in the run process."""

import os
import signal

import pandas as pd
import pytest

from workshop_dagster.predictions import quality_worker
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


@pytest.fixture
def worker():
    quality_worker.start()
    yield
    quality_worker.stop()


def test_the_worker_gives_the_in_process_verdict(worker):
    good, bad = _calls("up"), _calls("sideways")
    assert quality_worker.validate(good, 1) == validate_predictions(good, 1)
    failures, evaluated = quality_worker.validate(bad, 1)
    assert (failures, evaluated) == validate_predictions(bad, 1)
    assert [f.expectation for f in failures] == ["expect_column_values_to_be_in_set"]
    assert failures[0].column == "direction" and failures[0].unexpected_count == 4


def test_a_dead_worker_falls_back_to_the_run_process(worker):
    quality_worker.start()
    worker = quality_worker._worker  # noqa: SLF001 - killed as a crash would
    os.kill(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()
    failures, _ = quality_worker.validate(_calls("sideways"), 1)
    assert failures and failures[0].column == "direction"
    assert quality_worker.validate(_calls("up"), 1)[0] == []
    assert quality_worker._worker is not worker  # a new worker serves the next call


def test_an_error_in_the_worker_is_raised_in_the_run(worker):
    with pytest.raises(KeyError, match="parse_status"):
        quality_worker.validate(pd.DataFrame({"source": ["synthesis"]}), 1)
