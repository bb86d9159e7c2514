"""Loads `dbt_like_sql/` as Dagster assets, with lineage from `{{ ref() }}`.

A partitioned model is computed for the run's cycle window: each ref becomes that window's slice
of the upstream table, and the window's rows are replaced in one transaction. Tests declared in
`dbt_like_sql/schema.yml` run after the write and are reported as blocking asset checks.
"""

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from .cycle_assets import refuse_changes_to_sealed, refuse_keys_off_the_cadence
from .metadata import PREVIEW_ROWS, preview, table_metadata
from .settings import PROJECT_ROOT
from .sql_project import PARTITION_COLUMN, SQL_DIR, SqlModel, discover_models, test_queries
from .store import warehouse
from .variant_place import VariantPlace

if TYPE_CHECKING:  # imported by the runs, not by the code location's load
    import pandas as pd


def _naive_window(context: dg.AssetExecutionContext) -> "tuple[pd.Timestamp, pd.Timestamp]":
    import pandas as pd

    window = context.partition_time_window
    return tuple(pd.Timestamp(t).tz_convert("America/New_York").tz_localize(None) for t in window)


# Columns a release added to a table the models read: a warehouse an earlier release wrote gets
# them (empty) before a model reads it, as it would on its next per-cycle write.
LATER_COLUMNS = {"prediction_scores": {"conviction": "DOUBLE"}}


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
        select = model.render(window, schema=schema)
        table = f"{schema}.{model.name}"
        with context.resources.warehouse.connect() as conn:
            for ref in model.refs:
                if not warehouse.table_exists(conn, ref, schema):
                    raise dg.Failure(
                        description=f"SQL model {key.to_user_string()} reads {schema}.{ref}, "
                        "which does not exist yet: materialize "
                        + (
                            f"variant {variant}'s cycles first (its `{variant}_cycle` job)"
                            if variant
                            else f"`{ref}` for some cycles first"
                        ),
                        allow_retries=False,
                    )
                if ref in LATER_COLUMNS:
                    warehouse.add_new_columns(conn, f"{schema}.{ref}", LATER_COLUMNS[ref])
            if window is None:
                conn.execute(f"create or replace table {table} as {select}")
                relation = table
            else:
                start, end = (t.strftime("%Y-%m-%d %H:%M:%S") for t in window)
                where = (
                    f"{PARTITION_COLUMN} >= TIMESTAMP '{start}' "
                    f"and {PARTITION_COLUMN} < TIMESTAMP '{end}'"
                )
                conn.execute(
                    f"create table if not exists {table} as select * from ({select}) limit 0"
                )
                _check_columns(conn, table, select, model.name)
                # A sealed cycle's rows may only be rewritten with what they hold.
                refuse_changes_to_sealed(context, conn, {table: f"({select})"})
                conn.execute(f"delete from {table} where {where}")
                conn.execute(f"insert into {table} by name {select}")
                relation = f"(select * from {table} where {where})"
            rows = conn.execute(f"select count(*) from {relation}").fetchone()[0]
            if rows == 0 and partitioned:
                raise ValueError(
                    f"SQL model {model.name} produced no rows for {window or 'the table'}: "
                    "are its upstream tables materialized for these cycles?"
                )
            failures = {
                name: conn.execute(q).fetchone()[0] for name, q in test_queries(model, relation)
            }
            last = (
                f"where {PARTITION_COLUMN} = (select max({PARTITION_COLUMN}) from {relation})"
                if partitioned
                else ""
            )
            head = conn.execute(f"select * from {relation} {last} limit {PREVIEW_ROWS}").fetchdf()
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


def _check_columns(conn, table: str, select: str, name: str) -> None:
    """The model's columns must be the table's; columns the model has added since the table was
    made are added to it (empty for earlier cycles), any other difference is refused."""
    selected = conn.execute(f"describe {select}").fetchall()
    want = [r[0] for r in selected]
    have = [r[0] for r in conn.execute(f"describe {table}").fetchall()]
    if have != [c for c in want if c in have]:  # a column removed, renamed or moved
        raise ValueError(
            f"SQL model {name} now selects columns {want} but table {table} has {have}; "
            f"drop the table (`drop table {table}`) and re-materialize its cycles"
        )
    warehouse.add_new_columns(conn, table, {r[0]: r[1] for r in selected})


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
