"""The one `Definitions` of the Workshop code location."""

from __future__ import annotations

import dagster as dg

from .assets import market, minds, publish, scoring
from .automation.schedules import build_cycle_schedule
from .automation.sensors import build_scoring_sensor
from .checks import prediction_quality
from .partitions import cycle_partitions
from .resources import build_resources
from .run_guard import build_run_guard_sensor, patch_blocked_step_sleep
from .settings import load_settings
from .sql_models import load_sql_assets

# Every setting is validated first (settings.SettingsError names the variable): a wrong one stops
# the code location from loading, so `make validate` reports it and no run can write a row.
SETTINGS = load_settings()
# Every run process loads this module: steps blocked on a pool then sleep instead of spinning.
patch_blocked_step_sleep()
PARTITIONS = cycle_partitions()
SQL_ASSETS = load_sql_assets(PARTITIONS)
ASSETS = [*dg.load_assets_from_modules([market, minds, scoring, publish]), *SQL_ASSETS]
CHECKS = dg.load_asset_checks_from_modules([prediction_quality])

cycle_job = dg.define_asset_job(
    "cycle",
    selection=dg.AssetSelection.groups("market", "minds", "predictions")
    | dg.AssetSelection.assets("posts"),
    description="One cycle of the loop: market data, features, regime, minds, memo, "
    "predictions (with their checks) and the scores of calls whose horizon has ended.",
)

score_job = dg.define_asset_job(
    "score",
    selection=dg.AssetSelection.assets("prediction_scores", "lessons", "posts"),
    description="Score a cycle's calls whose horizons have ended, write their lessons, and "
    "append the outcome to the cycle's post (what the scoring sensor requests).",
)

rollups_job = dg.define_asset_job(
    "rollups",
    selection=dg.AssetSelection.groups("track_record") | dg.AssetSelection.assets("site"),
    description="Track record, calibration and rules, rebuilt from every score so far, and the "
    "scoreboard site built from them.",
)

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[cycle_job, score_job, rollups_job],
    schedules=[build_cycle_schedule(cycle_job, PARTITIONS)],
    sensors=[
        build_scoring_sensor(score_job, SETTINGS.scoring_interval_s),
        build_run_guard_sensor(),
        # Dagster's own sensor for the eager rollups and site, but on by default: without it,
        # new scores would not rebuild the track record and the site until someone turns it on.
        dg.AutomationConditionSensorDefinition(
            "rollups_automation_sensor",
            target=dg.AssetSelection.all(),
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=30,
            description="Rebuilds the track record, calibration, rules and site when new "
            "scores land (their eager automation conditions).",
        ),
    ],
    resources=build_resources(SETTINGS),
    # Steps of a cycle are short and share one DuckDB file: one process per run is faster
    # (no process spawn per step) and the minds parallelize inside their own asset.
    executor=dg.in_process_executor,
)
