"""The one `Definitions` of the Workshop code location."""

from __future__ import annotations

import dagster as dg

from .assets import market
from .partitions import cycle_partitions
from .resources import build_resources
from .sql_models import load_sql_assets

PARTITIONS = cycle_partitions()
SQL_ASSETS = load_sql_assets(PARTITIONS)
ASSETS = [*dg.load_assets_from_modules([market]), *SQL_ASSETS]

cycle_job = dg.define_asset_job(
    "cycle",
    selection=dg.AssetSelection.groups("market"),
    description="One cycle of the loop: market data, features and regime label.",
)

defs = dg.Definitions(
    assets=ASSETS,
    jobs=[cycle_job],
    resources=build_resources(),
    # Steps of a cycle are short and share one DuckDB file: one process per run is faster
    # (no process spawn per step) and the minds parallelize inside their own asset.
    executor=dg.in_process_executor,
)
