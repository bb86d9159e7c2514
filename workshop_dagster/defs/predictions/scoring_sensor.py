"""The `score` job and the scoring sensor: score every call as soon as its horizon has ended.

It asks the warehouse which cycles have calls whose horizon has passed but that are not scored
yet (never scored, or still `pending` from an earlier scoring), and requests one scoring run per
such cycle, unless a queued or running run already covers that cycle. The cursor remembers what
was requested (cycle, horizon, attempt) and each request's run key says it, so nothing is asked
twice while it is under way, a scoring that failed is retried at most three times, and because
the query looks at every unscored call, not only recent ones, it catches up after downtime.
"""

import json
from typing import TYPE_CHECKING

import dagster as dg

from ...lib.per_cycle import ACTIVE, SETTINGS
from ...lib.variant_jobs import SCORE_JOBS
from ...market import calendar
from ...resources import WarehouseResource
from ...store import warehouse

if TYPE_CHECKING:  # imported by the sensor's tick, not by the code location's load
    import pandas as pd


def due_cycles(
    database: str, now: "pd.Timestamp", schema: str = "main"
) -> "list[tuple[str, pd.Timestamp]]":
    """(cycle_key, latest matured horizon) for cycles with matured, unscored calls (of the
    variant whose tables are in `schema`)."""
    from ...store import asset_rows

    with warehouse.connect(database, transaction=False, timeout=30) as conn:
        return asset_rows.due_cycles(conn, now, schema)


MAX_ATTEMPTS = 3


def cycles_in_flight(instance: dg.DagsterInstance) -> tuple[set[str], list[tuple[str, str]]]:
    """Cycle keys (and key ranges of single-run backfills) that a queued or running run covers."""
    keys, ranges = set(), []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE)):
        tags = run.tags
        if "dagster/partition" in tags:
            keys.add(tags["dagster/partition"])
        start = tags.get("dagster/asset_partition_range_start")
        if start:
            ranges.append((start, tags.get("dagster/asset_partition_range_end", start)))
    return keys, ranges


def build_scoring_sensor(
    job, interval_s: int = 300, side_jobs: dict | None = None
) -> dg.SensorDefinition:
    """The sensor that scores the code location's variant with `job` and each side variant
    (`side_jobs`: variant -> its score job) with its own."""
    side_jobs = side_jobs or {}

    @dg.sensor(
        name="scoring_sensor",
        jobs=[job, *side_jobs.values()],
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a scoring run for every cycle whose calls' horizons have ended "
        "(of the loop and of each side variant).",
    )
    def scoring_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        now = calendar.now_ny()
        requested = json.loads(context.cursor) if context.cursor else {}
        keys, ranges = cycles_in_flight(context.instance)
        requests = []
        targets = [("main", job.name, ""), *((v, j.name, f"{v}:") for v, j in side_jobs.items())]
        for schema, job_name, mark in targets:
            for cycle_key, due in due_cycles(warehouse.database, now, schema):
                if cycle_key in keys or any(a <= cycle_key <= b for a, b in ranges):
                    continue  # a run that will score it is already on its way
                entry = requested.get(mark + cycle_key, {})
                attempts = entry.get("attempts", 0) if entry.get("due") == due.isoformat() else 0
                if attempts >= MAX_ATTEMPTS:
                    continue  # scoring keeps failing: the failed runs say why
                requested[mark + cycle_key] = {"due": due.isoformat(), "attempts": attempts + 1}
                requests.append(
                    dg.RunRequest(
                        job_name=job_name,
                        partition_key=cycle_key,
                        run_key=f"score:{mark}{cycle_key}:{due.isoformat()}:{attempts + 1}",
                        tags={"workshop/reason": f"horizon ended {due:%Y-%m-%d %H:%M}"},
                    )
                )
        if not requests:
            return dg.SkipReason("no call has matured unscored since the last tick")
        context.update_cursor(json.dumps(requested, sort_keys=True))
        return requests

    return scoring_sensor


score_job = dg.define_asset_job(
    "score",
    selection=dg.AssetSelection.assets("prediction_scores", "lessons", "posts"),
    description="Score a cycle's calls whose horizons have ended, write their lessons, and "
    "append the outcome to the cycle's post (what the scoring sensor requests).",
)
scoring_sensor = build_scoring_sensor(score_job, SETTINGS.scoring_interval_s, SCORE_JOBS)
