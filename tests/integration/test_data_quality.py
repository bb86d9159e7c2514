"""The data-quality resource: the same verdict with the warm worker and without it."""

import sys

from tests.unit.test_quality_worker import _calls, _worker_pid
from workshop_dagster.platform import quality_worker
from workshop_dagster.resources import DataQualityResource


def test_the_gate_gives_one_verdict_with_or_without_the_worker(tmp_path):
    bad = _calls("sideways")
    runtime_dir = tmp_path / "run"
    try:
        warm = DataQualityResource(runtime_dir=str(runtime_dir)).validate_predictions(bad, 1)
        assert _worker_pid(runtime_dir)  # it did run in the worker
    finally:
        quality_worker.stop()
        quality_worker.shutdown(runtime_dir)
    cold_dir = tmp_path / "cold"
    cold = DataQualityResource(warm_worker=False, runtime_dir=str(cold_dir)).validate_predictions(
        bad, 1
    )
    assert not cold_dir.exists()  # and this one did not
    assert "great_expectations" in sys.modules
    assert warm == cold and [f.column for f in cold[0]] == ["direction"]
