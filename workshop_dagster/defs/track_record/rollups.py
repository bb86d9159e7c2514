"""The track record, calibration and rules (SQL, group track_record), the `rollups` job that
rebuilds them and the site, and the sensor that does it when new scores land."""

import dagster as dg

from ...cycle_assets import PARTITIONS
from ...sql_models import load_sql_assets

track_record_models = load_sql_assets(PARTITIONS, group="track_record")

rollups_job = dg.define_asset_job(
    "rollups",
    selection=dg.AssetSelection.groups("track_record") | dg.AssetSelection.assets("site"),
    description="Track record, calibration and rules, rebuilt from every score so far, and the "
    "scoreboard site built from them.",
)

# Dagster's own sensor for the eager rollups and site, but on by default: without it, new
# scores would not rebuild the track record and the site until someone turns it on.
rollups_automation_sensor = dg.AutomationConditionSensorDefinition(
    "rollups_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Rebuilds the track record, calibration, rules and site when new scores land "
    "(their eager automation conditions).",
)
