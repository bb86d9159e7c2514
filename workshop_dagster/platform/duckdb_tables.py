"""How the Workshop's IO manager writes and reads a frame: dagster-duckdb's pandas type handler and
client with these changes, each for a trap measured here (`io_manager.WarehouseIOManager`):
- connections go through `warehouse.connect` (cross-process lock + one transaction), so the
  delete-then-insert that replaces a partition is atomic and runs never collide on the file;
- an empty frame is refused (the stock manager deletes the partition and writes nothing) unless
  the asset declares `allow_empty` in its metadata;
- a tz-aware partition column is refused (the stock manager then appends instead of replacing),
  and rows are inserted BY NAME so a reordered frame cannot shift values between columns;
- a range run's SQL and table name go on its last cycle's materialization, not on every cycle's
  (`metadata.last_cycle_only`).

Imported by a run when it starts its IO manager, not when the code location loads: pandas and
duckdb are most of what that load would cost beyond Dagster's (docs/performance.md).
"""

from __future__ import annotations

from contextlib import contextmanager

import dagster as dg
import pandas as pd
from dagster._core.definitions.metadata.metadata_set import TableMetadataSet
from dagster._core.storage.db_io_manager import DbIOManager, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

from ..store import frames, warehouse
from .metadata import preview, table_metadata


class LockedDuckDbClient(DuckDbClient):
    @staticmethod
    def delete_table_slice(context, table_slice: TableSlice, connection) -> None:
        # Left to the type handler (`_delete_slice`): a table's columns are altered before its
        # rows are deleted, as DuckDB 1.5 refuses to commit an ALTER of a table that the same
        # transaction modified.
        return None

    @staticmethod
    @contextmanager
    def connect(context, _):
        with warehouse.connect(context.resource_config["database"]) as conn:
            yield conn


class GuardedPandasTypeHandler(DuckDBPandasTypeHandler):
    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection
    ):
        metadata = context.definition_metadata or {}
        name = f"{table_slice.schema}.{table_slice.table}"
        partition_col = metadata.get("partition_expr")
        if isinstance(partition_col, str) and partition_col in obj.columns:
            col = obj[partition_col]
            if isinstance(col.dtype, pd.DatetimeTZDtype):
                raise ValueError(
                    f"{name}: partition column {partition_col!r} is tz-aware; store naive "
                    "America/New_York times, or re-runs append instead of replacing"
                )
        if obj.empty:
            if not metadata.get("allow_empty"):
                raise ValueError(
                    f"{name}: refusing to write an empty frame (it would wipe the partition); "
                    "the asset found no rows where rows were expected"
                )
            if warehouse.table_exists(connection, table_slice.table, table_slice.schema):
                _delete_slice(context, table_slice, connection)
            else:
                frames.create_empty(connection, table_slice.table, table_slice.schema, obj)
            context.add_output_metadata({"dagster/partition_row_count": 0})
            return None
        obj = frames.typed_nulls(obj)
        table, schema = table_slice.table, table_slice.schema
        if warehouse.table_exists(connection, table, schema):
            frames.fit_columns(connection, table, schema, obj)
            _delete_slice(context, table_slice, connection)
            frames.insert(connection, table, schema, obj)
        else:
            frames.create(connection, table, schema, obj)
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        last, last_key = obj, None
        if len(keys) > 1:  # a range: the preview shows its last cycle's rows
            last_key = context.asset_partition_key_range.end
            if isinstance(partition_col, str) and partition_col in obj.columns:
                last = obj[obj[partition_col] == obj[partition_col].max()]
        light = table_metadata(
            context.step_context.add_asset_metadata,
            keys,
            last_key,
            context.asset_key,
            int(obj.shape[0]),
            {"preview": preview(last)},
        )
        context.add_output_metadata(light)
        return None


def _delete_slice(context, table_slice: TableSlice, connection) -> None:
    """The rows the output replaces (its partitions), after any change to the table's columns
    (`LockedDuckDbClient.delete_table_slice`); the stock client's delete, which would swallow
    a CatalogException and so abort the transaction, runs only on a table that exists."""
    DuckDbClient.delete_table_slice(context, table_slice, connection)


class RangeDbIOManager(DbIOManager):
    """dagster-duckdb's manager, except that for a range run it puts the "Query" and the table
    name it reports on the last cycle's materialization: as output metadata, Dagster copies them
    into each cycle's event (a year of cycles stored the same SQL ~3,750 times per table)."""

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
        if len(keys) <= 1 or obj is None:
            super().handle_output(context, obj)
            return
        self._check_supported_type(type(obj))
        table_slice = self._get_table_slice(context, context)
        with self._db_client.connect(context, table_slice) as conn:
            self._db_client.ensure_schema_exists(context, table_slice, conn)
            self._db_client.delete_table_slice(context, table_slice, conn)
            self._resolve_handler(type(obj)).handle_output(context, table_slice, obj, conn)
        context.step_context.add_asset_metadata(
            {
                "Query": self._db_client.get_select_statement(table_slice),
                **dict(TableMetadataSet(table_name=self._db_client.get_table_name(table_slice))),
            },
            asset_key=context.asset_key,
            partition_key=context.asset_partition_key_range.end,
        )


def warehouse_db_io_manager(database: str, schema: str | None) -> DbIOManager:
    """The DbIOManager of the Workshop's per-cycle tables."""
    return RangeDbIOManager(
        db_client=LockedDuckDbClient(),
        database=database,
        schema=schema,
        type_handlers=[GuardedPandasTypeHandler()],
        default_load_type=pd.DataFrame,
        io_manager_name="WarehouseIOManager",
    )
