"""The track record, calibration and rules (SQL, group track_record), the `rollups` job that
rebuilds them and the site, and the sensor that runs it when new scores (or posts) land."""

import dagster as dg

from ...lib.per_cycle import ACTIVE, PARTITIONS, SETTINGS
from ...lib.sql_models import load_sql_assets
from ...lib.variant_jobs import ROLLUPS_JOBS

# The rollups look for new scores as often as the scoring sensor looks for matured calls, at
# most every 30 s (a check of two timestamps: cheap).
ROLLUPS_INTERVAL_S = min(30, SETTINGS.scoring_interval_s)

track_record_models = load_sql_assets(PARTITIONS, group="track_record")
# Each side variant's, in its schema and group (WORKSHOP_VARIANTS).
variant_track_record_models = [
    a
    for v in SETTINGS.side_variants
    for a in load_sql_assets(PARTITIONS, group="track_record", variant=v)
]

rollups_job = dg.define_asset_job(
    "rollups",
    selection=dg.AssetSelection.groups("track_record")
    | dg.AssetSelection.assets("variant_comparison", "site"),
    description="Track record, calibration and rules, rebuilt from every score so far, the side "
    "variants' comparison with the loop, and the scoreboard site built from them.",
)

INPUTS = ("prediction_scores", "posts")  # what the rollups and the site are built from
OUTPUTS = ("track_record", "calibration", "rules", "paper_performance", "site")


def _targets() -> list[tuple[str, list[dg.AssetKey], list[dg.AssetKey]]]:
    """(job, inputs, outputs): the loop's rollups, and each side variant's (its record and
    the comparison, from its scores)."""
    out = [("rollups", [dg.AssetKey(a) for a in INPUTS], [dg.AssetKey(a) for a in OUTPUTS])]
    for variant, job in ROLLUPS_JOBS.items():
        out.append(
            (
                job.name,
                [dg.AssetKey([variant, "prediction_scores"])],
                [
                    dg.AssetKey([variant, a])
                    for a in ("track_record", "calibration", "rules", "paper_performance")
                ]
                + [dg.AssetKey("variant_comparison")],
            )
        )
    return out


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey) -> float | None:
    """When the asset (any of its partitions) was last materialized, or None."""
    event = instance.get_latest_materialization_event(key)
    return event.timestamp if event else None


@dg.sensor(
    name="rollups_sensor",
    jobs=[rollups_job, *ROLLUPS_JOBS.values()],
    minimum_interval_seconds=ROLLUPS_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the rollups job (track record, calibration, rules, site) when scores or "
    "posts landed after the rollups were last built; and each side variant's when its scores "
    "did.",
)
def rollups_sensor(context: dg.SensorEvaluationContext):
    """Timestamps, not Dagster's eager condition: eager never fires for an unpartitioned asset
    over partitions most of which are never run, and without that clause a dependency update
    that lands while the asset's own previous rebuild finishes is lost in the same tick."""
    instance = context.instance
    requests, reasons = [], []
    for job_name, inputs, outputs in _targets():
        landed = [t for t in (_latest(instance, a) for a in inputs) if t is not None]
        if not landed:
            reasons.append(f"{job_name}: no score or post yet")
            continue
        built = [_latest(instance, a) for a in outputs]
        newest = max(landed)
        if all(t is not None and t >= newest for t in built):
            reasons.append(f"{job_name}: up to date")
            continue
        active = instance.get_runs(
            filters=dg.RunsFilter(job_name=job_name, statuses=ACTIVE), limit=1
        )
        if active:
            reasons.append(f"{job_name}: a run is already under way")
            continue
        requests.append(dg.RunRequest(job_name=job_name, run_key=f"{job_name}:{newest}"))
    return requests or dg.SkipReason("; ".join(reasons))
