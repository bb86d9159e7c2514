"""The schedule and the scoring sensor, evaluated against a real instance and warehouse."""

import datetime
import zoneinfo

import dagster as dg

from tests.integration.helpers import materialize, writable
from workshop_dagster.config.settings import load_settings

NY = zoneinfo.ZoneInfo("America/New_York")
LOOP = dg.AssetSelection.groups("market", "minds", "predictions")


def _tick(defs, when: str):
    schedule = defs.resolve_schedule_def("cycle_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime.datetime.fromisoformat(when).replace(tzinfo=NY),
        repository_def=defs.get_repository_def(),
    )
    return schedule.evaluate_tick(context)


def test_each_tick_runs_its_own_cycle_and_holidays_are_skipped():
    from workshop_dagster.definitions import defs

    result = _tick(defs, "2026-03-30 19:15")
    assert [r.partition_key for r in result.run_requests] == ["2026-03-30-19:15"]
    assert result.run_requests[0].run_key == "cycle:2026-03-30-19:15"
    holiday = _tick(defs, "2025-11-27 19:15")  # Thanksgiving
    assert not holiday.run_requests and "not a cycle" in holiday.skip_message


def test_a_tick_skipped_by_the_setting_runs_nothing():
    from workshop_dagster.config.settings import DEFAULT_CYCLE_CRON
    from workshop_dagster.defs.cycle.jobs import build_cycle_schedule, cycle_job
    from workshop_dagster.lib.partitions import build_cycle_partitions

    parts = build_cycle_partitions("2026-03-02", DEFAULT_CYCLE_CRON, NY.key, None, ("45 19 * * *",))
    schedule = build_cycle_schedule(cycle_job, parts)

    def tick(when: str):
        at = datetime.datetime.fromisoformat(when).replace(tzinfo=NY)
        return schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=at))

    skipped = tick("2026-03-30 19:45")
    assert not skipped.run_requests
    assert "skipped by WORKSHOP_CYCLE_SKIP" in skipped.skip_message


PAPER = ("paper_positions", "paper_equity", "paper_performance")
ROLLUPS = {"track_record", "calibration", "rules", "site", *PAPER}


def _rollups_tick(defs, instance):
    sensor = defs.resolve_sensor_def("rollups_sensor")
    context = dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def())
    return sensor.evaluate_tick(context).run_requests


def test_rollups_rebuild_when_scores_land_though_most_cycles_were_never_run(workshop_env):
    from workshop_dagster.definitions import defs

    sensor = defs.resolve_sensor_def("rollups_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    instance = dg.DagsterInstance.get()
    assert not _rollups_tick(defs, instance), "nothing has landed yet"
    with_posts = LOOP | dg.AssetSelection.assets("posts")
    assert materialize("2026-03-02-19:15", selection=with_posts).success
    (request,) = _rollups_tick(defs, instance)
    assert materialize(None, selection=dg.AssetSelection.assets(*ROLLUPS)).success
    assert not _rollups_tick(defs, instance), "the rollups are up to date"
    # One more cycle's scores land: the record and the site rebuild (a new run key).
    assert materialize("2026-03-03-19:15", selection=with_posts).success
    (again,) = _rollups_tick(defs, instance)
    assert again.run_key != request.run_key
    assert {"track_record", "site"} <= {
        k.to_user_string()
        for k in defs.resolve_job_def("rollups").asset_layer.executable_asset_keys
    }


def _sensor_tick(defs, instance, cursor=None):
    from workshop_dagster.resources import build_resources

    sensor = defs.resolve_sensor_def("scoring_sensor")
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"warehouse": build_resources(load_settings())["warehouse"]},
        repository_def=defs.get_repository_def(),
    )
    return sensor.evaluate_tick(context)


def _add_run(instance, status, tags: dict[str, str]) -> str:
    """A run record as the daemon would hold it for a queued or running job."""
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._core.utils import make_new_run_id

    run = DagsterRun(job_name="score", run_id=make_new_run_id(), status=status, tags=tags)
    instance.add_run(run)
    return run.run_id


def test_scoring_sensor_requests_each_matured_cycle_once_and_catches_up(workshop_env):
    from workshop_dagster.definitions import defs

    keys = ["2026-03-02-19:15", "2026-03-03-19:15", "2026-03-04-19:15", "2026-03-05-19:15"]
    assert materialize(keys, selection=LOOP).success
    instance = dg.DagsterInstance.get()
    first = _sensor_tick(defs, instance)
    assert not first.run_requests, "every call was already scored by the cycle runs"

    # Scores lost (a scoring run that never happened, a daemon that was down): catch up.
    with writable() as conn:
        conn.execute("delete from prediction_scores where cycle_key in (?, ?)", keys[:2])
        conn.execute(
            "update prediction_scores set status = 'pending' where cycle_key = ?", [keys[2]]
        )
    # A starting run of one cycle and a running single-run backfill over another already cover
    # them: the sensor asks only for the third, and for all three once those runs are gone.
    in_flight = [
        _add_run(instance, dg.DagsterRunStatus.STARTING, {"dagster/partition": keys[0]}),
        _add_run(
            instance,
            dg.DagsterRunStatus.STARTED,
            {
                "dagster/asset_partition_range_start": keys[1],
                "dagster/asset_partition_range_end": keys[1],
            },
        ),
    ]
    covered = _sensor_tick(defs, instance)
    assert [r.partition_key for r in covered.run_requests] == [keys[2]]
    for run_id in in_flight:
        instance.delete_run(run_id)
    second = _sensor_tick(defs, instance)
    requested = sorted(r.partition_key for r in second.run_requests)
    assert requested == keys[:3]
    assert len({r.run_key for r in second.run_requests}) == 3
    # Had those runs failed, the next ticks retry each cycle, at most three times in all, and
    # never with a run key used before.
    run_keys = {r.run_key for r in second.run_requests}
    cursor = second.cursor
    for _ in range(2):
        retry = _sensor_tick(defs, instance, cursor=cursor)
        assert sorted(r.partition_key for r in retry.run_requests) == keys[:3]
        assert not run_keys & {r.run_key for r in retry.run_requests}
        run_keys |= {r.run_key for r in retry.run_requests}
        cursor = retry.cursor
    assert not _sensor_tick(defs, instance, cursor=cursor).run_requests

    # Running what the sensor asked for scores those cycles again.
    for key in requested:
        assert materialize(
            key, selection=dg.AssetSelection.assets("prediction_scores", "lessons", "posts")
        ).success
    assert not _sensor_tick(defs, instance).run_requests
