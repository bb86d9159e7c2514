"""When the unpartitioned rollups (track record, calibration, rules) and the site rebuild."""

import dagster as dg

# Dagster's eager condition, less "no dependency partition is missing": the rollups read every
# cycle's scores, and most cycles of the partition set are never run, so with it they would
# never rebuild. They rebuild when any cycle's scores (or another input) land, once nothing
# upstream is in progress.
REBUILD_WHEN_INPUTS_LAND = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager_allow_missing")
)
