"""The data-quality resource: the same verdict with the warm worker and without it."""

from tests.unit.test_quality_worker import _calls
from workshop_dagster.predictions import quality_worker
from workshop_dagster.resources import DataQualityResource


def test_the_gate_gives_one_verdict_with_or_without_the_worker():
    bad = _calls("sideways")
    try:
        warm = DataQualityResource().validate_predictions(bad, 1)
        assert quality_worker._worker is not None  # noqa: SLF001 - it did run in the worker
    finally:
        quality_worker.stop()
    cold = DataQualityResource(warm_worker=False).validate_predictions(bad, 1)
    assert quality_worker._worker is None  # noqa: SLF001 - and this one did not
    assert warm == cold and [f.column for f in cold[0]] == ["direction"]
