"""Loads `dbt_like_sql/` as Dagster assets, with lineage from `{{ ref() }}`.

A partitioned model is computed for the run's cycle window: each ref becomes that window's slice
of the upstream table, and the window's rows are replaced in one transaction. Tests declared in
`dbt_like_sql/schema.yml` run after the write and are reported as blocking asset checks.
"""

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from ..config.settings import PROJECT_ROOT
from ..platform.metadata import PREVIEW_ROWS, preview, table_metadata
from ..store import model_tables
from ..store.sql_project import PARTITION_COLUMN, SQL_DIR, SqlModel, discover_models
from .per_cycle import refuse_changes_to_sealed, refuse_keys_off_the_cadence
from .variant_place import VariantPlace

if TYPE_CHECKING:  # imported by the runs, not by the code location's load
    import pandas as pd


def _naive_window(context: dg.AssetExecutionContext) -> "tuple[pd.Timestamp, pd.Timestamp]":
    import pandas as pd

    window = context.partition_time_window
    return tuple(pd.Timestamp(t).tz_convert("America/New_York").tz_localize(None) for t in window)


def build_sql_asset(
    model: SqlModel, partitions_def: dg.PartitionsDefinition | None, variant: str | None = None
):
    """The model as an asset; for a side `variant`, keyed under its name, written to its DuckDB
    schema, its refs read from that schema (a variant's record is built from its own scores)."""
    check_name = f"{model.name}_tests"
    partitioned = model.partitioned and partitions_def is not None
    place = VariantPlace(variant or "", side=variant is not None)
    schema, key = place.schema, place.key(model.name)

    @dg.asset(
        key=key,
        group_name=place.group(model.group),
        description=place.described(model.description),
        deps=[place.key(r) for r in model.refs],
        partitions_def=partitions_def if partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        metadata={
            "partition_expr": PARTITION_COLUMN,
            "sql_path": str(model.path.relative_to(PROJECT_ROOT)),
        }
        if partitioned
        else {"sql_path": str(model.path.relative_to(PROJECT_ROOT))},
        kinds={"duckdb", "sql"},
        check_specs=[
            dg.AssetCheckSpec(check_name, asset=key, blocking=True, description="schema.yml tests")
        ]
        if model.tests
        else None,
        pool="duckdb",
        required_resource_keys={"warehouse"},
    )
    def _sql_asset(context: dg.AssetExecutionContext):
        if partitioned:
            refuse_keys_off_the_cadence(context)
        window = _naive_window(context) if partitioned else None
        with context.resources.warehouse.connect() as conn:
            try:
                written = model_tables.write(
                    conn,
                    model,
                    schema,
                    window,
                    PREVIEW_ROWS,
                    guard=lambda relations: refuse_changes_to_sealed(context, conn, relations),
                )
            except model_tables.MissingInput as missing:
                raise dg.Failure(
                    description=f"SQL model {key.to_user_string()} reads "
                    f"{missing.schema}.{missing.ref}, which does not exist yet: materialize "
                    + (
                        f"variant {variant}'s cycles first (its `{variant}_cycle` job)"
                        if variant
                        else f"`{missing.ref}` for some cycles first"
                    ),
                    allow_retries=False,
                ) from None
            if written.rows == 0 and partitioned:  # raised in the transaction: nothing written
                raise ValueError(
                    f"SQL model {model.name} produced no rows for {window}: "
                    "are its upstream tables materialized for these cycles?"
                )
        select, rows, failures, head = written.select, written.rows, written.failures, written.head
        keys = list(context.partition_keys) if partitioned else []
        heavy = {"preview": preview(head), "sql": dg.MetadataValue.md(f"```sql\n{select}\n```")}
        last_key = context.partition_key_range.end if len(keys) > 1 else None
        light = table_metadata(context.add_asset_metadata, keys, last_key, key, int(rows), heavy)
        yield dg.MaterializeResult(metadata=light)
        if model.tests:
            failed = {k: int(v) for k, v in failures.items() if v}
            yield dg.AssetCheckResult(
                check_name=check_name,
                passed=not failed,
                metadata={"failing_rows": failed or "none", "tests_run": len(failures)},
                description=("failed: " + ", ".join(f"{k} ({v} rows)" for k, v in failed.items()))
                if failed
                else "all schema.yml tests passed",
            )

    return _sql_asset


def load_sql_assets(
    partitions_def: dg.PartitionsDefinition,
    group: str | None = None,
    sql_dir: Path = SQL_DIR,
    variant: str | None = None,
) -> list:
    """The models of `dbt_like_sql/` as assets (those of one group, or all; a side variant's)."""
    return [
        build_sql_asset(m, partitions_def, variant)
        for m in discover_models(sql_dir)
        if group is None or m.group == group
    ]
