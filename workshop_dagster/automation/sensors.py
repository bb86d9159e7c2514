"""The scoring sensor: score every call as soon as its horizon has ended.

It asks the warehouse which cycles have calls whose horizon has passed but that are not scored
yet (never scored, or still `pending` from an earlier scoring), and requests one scoring run per
such cycle. Each request carries a run key (cycle + the latest horizon it covers), so a tick never
asks twice for the same work; the cursor remembers the latest horizon already requested, and
because the query looks at every unscored call, not only recent ones, it catches up after any
downtime.
"""

import json

import dagster as dg
import pandas as pd

from .. import warehouse
from ..market import calendar
from ..resources import WarehouseResource

DUE_SQL = """
with scored as (
    select cycle_key, source, status from prediction_scores
)
select p.cycle_key, max(p.horizon_end) as latest_due
from predictions p
left join scored s on s.cycle_key = p.cycle_key and s.source = p.source
where p.parse_status = 'parsed'
  and p.horizon_end <= ?
  and (s.status is null or s.status = 'pending')
group by p.cycle_key
order by p.cycle_key
"""
DUE_WITHOUT_SCORES_SQL = """
select cycle_key, max(horizon_end) as latest_due
from predictions
where parse_status = 'parsed' and horizon_end <= ?
group by cycle_key
order by cycle_key
"""


def due_cycles(database: str, now: pd.Timestamp) -> list[tuple[str, pd.Timestamp]]:
    """(cycle_key, latest matured horizon) for cycles with matured, unscored calls."""
    with warehouse.connect(database, transaction=False, timeout=30) as conn:
        if not warehouse.table_exists(conn, "predictions"):
            return []
        sql = (
            DUE_SQL if warehouse.table_exists(conn, "prediction_scores") else DUE_WITHOUT_SCORES_SQL
        )
        rows = conn.execute(sql, [now]).fetchall()
    return [(key, pd.Timestamp(due)) for key, due in rows]


def build_scoring_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(
        name="scoring_sensor",
        job=job,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a scoring run for every cycle whose calls' horizons have ended.",
    )
    def scoring_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        now = calendar.to_naive_ny(pd.Timestamp.now(tz="UTC"))
        requested = json.loads(context.cursor) if context.cursor else {}
        requests = []
        for cycle_key, due in due_cycles(warehouse.database, now):
            if requested.get(cycle_key) == due.isoformat():
                continue
            requested[cycle_key] = due.isoformat()
            requests.append(
                dg.RunRequest(
                    partition_key=cycle_key,
                    run_key=f"score:{cycle_key}:{due.isoformat()}",
                    tags={"workshop/reason": f"horizon ended {due:%Y-%m-%d %H:%M}"},
                )
            )
        if not requests:
            return dg.SkipReason("no call has matured since the last scoring")
        context.update_cursor(json.dumps(requested, sort_keys=True))
        return requests

    return scoring_sensor
