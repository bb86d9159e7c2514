"""The one `Definitions` of the Workshop code location."""

from __future__ import annotations

import dagster as dg

from .assets import market
from .partitions import cycle_partitions
from .resources import build_resources
from .sql_models import load_sql_assets

PARTITIONS = cycle_partitions()
SQL_ASSETS = load_sql_assets(PARTITIONS)

cycle_job = dg.define_asset_job(
    "cycle",
    selection=dg.AssetSelection.groups("market"),
    partitions_def=PARTITIONS,
    executor_def=dg.in_process_executor,
    description="One cycle of the loop: market data, features and regime label.",
)

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([market]), *SQL_ASSETS],
    jobs=[cycle_job],
    resources=build_resources(),
)
