"""The track record, calibration and rules (SQL, group track_record), the `rollups` job that
rebuilds them and the site, and the sensor that runs it when new scores (or posts) land."""

import dagster as dg

from ...cycle_assets import PARTITIONS, SETTINGS
from ...sql_models import load_sql_assets
from ..predictions.scoring_sensor import ACTIVE

# The rollups look for new scores as often as the scoring sensor looks for matured calls, at
# most every 30 s (a check of two timestamps: cheap).
ROLLUPS_INTERVAL_S = min(30, SETTINGS.scoring_interval_s)

track_record_models = load_sql_assets(PARTITIONS, group="track_record")

rollups_job = dg.define_asset_job(
    "rollups",
    selection=dg.AssetSelection.groups("track_record") | dg.AssetSelection.assets("site"),
    description="Track record, calibration and rules, rebuilt from every score so far, and the "
    "scoreboard site built from them.",
)

INPUTS = ("prediction_scores", "posts")  # what the rollups and the site are built from
OUTPUTS = ("track_record", "calibration", "rules", "site")


def _latest(instance: dg.DagsterInstance, asset: str) -> float | None:
    """When the asset (any of its partitions) was last materialized, or None."""
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    return event.timestamp if event else None


@dg.sensor(
    name="rollups_sensor",
    job=rollups_job,
    minimum_interval_seconds=ROLLUPS_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the rollups job (track record, calibration, rules, site) when scores or "
    "posts landed after the rollups were last built.",
)
def rollups_sensor(context: dg.SensorEvaluationContext):
    """Timestamps, not Dagster's eager condition: eager never fires for an unpartitioned asset
    over partitions most of which are never run, and without that clause a dependency update
    that lands while the asset's own previous rebuild finishes is lost in the same tick."""
    instance = context.instance
    landed = [t for t in (_latest(instance, a) for a in INPUTS) if t is not None]
    if not landed:
        return dg.SkipReason("no score or post yet")
    built = [_latest(instance, a) for a in OUTPUTS]
    newest = max(landed)
    if all(t is not None and t >= newest for t in built):
        return dg.SkipReason("the rollups and the site are up to date")
    active = instance.get_runs(filters=dg.RunsFilter(job_name="rollups", statuses=ACTIVE), limit=1)
    if active:
        return dg.SkipReason("a rollups run is already under way")
    return dg.RunRequest(run_key=f"rollups:{newest}")
