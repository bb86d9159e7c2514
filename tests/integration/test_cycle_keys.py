"""A requested key that is not a cycle runs nothing: refused by name, with the nearest cycles."""

import dagster as dg
import pytest

from tests.integration.helpers import failure_text, materialize, query

LOOP = dg.AssetSelection.groups("market", "minds", "predictions")


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        # A minute off the cadence, as a range run's bounds: Dagster would run the cycles
        # around it (the tests' cadence is 09:15, 12:15, 19:15).
        (
            ["2026-08-07-15:16", "2026-08-07-15:16"],
            "2026-08-07-15:16 is not a cycle of the cadence (WORKSHOP_CYCLE_CRON); the nearest "
            "cycles: 2026-08-07-12:15 and 2026-08-07-19:15",
        ),
        # Thanksgiving: Dagster would run the next session's first cycle.
        (
            ["2026-11-26-09:15", "2026-11-26-12:15"],
            "Thursday 2026-11-26 is not a NYSE trading day (the nearest cycles: "
            "2026-11-25-19:15 and 2026-11-27-09:15)",
        ),
    ],
)
def test_a_key_that_is_not_a_cycle_is_refused_and_runs_nothing(workshop_env, keys, says):
    result = materialize(
        keys, selection=LOOP, tags={"workshop/amend": "true"}, raise_on_error=False
    )
    assert not result.success and says in failure_text(result)
    assert (
        query("select count(*) n from information_schema.tables where table_name = 'memo'")["n"][0]
        == 0
    )


def test_a_cycle_before_workshop_start_is_refused_by_name(workshop_env, monkeypatch):
    from workshop_dagster.lib.partitions import build_cycle_partitions, cycle_key_problem

    later = build_cycle_partitions("2026-12-01", "15 9,12,19 * * 1-5", "America/New_York")
    assert "is before the first cycle (2026-12-01-09:15: WORKSHOP_START sets it)" in (
        cycle_key_problem("2026-11-20-09:15", later)
    )
    assert cycle_key_problem("2026-12-01-12:15", later) is None
    assert "is not a cycle key" in cycle_key_problem("yesterday", later)
