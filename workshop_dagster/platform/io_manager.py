"""The IO manager of the per-cycle tables: dagster-duckdb's DbIOManager over the Workshop's
DuckDB file, with the guarded client and type handler of `duckdb_tables`.

A factory that imports them when a run starts it: the code location's load (every run, sensor
tick and UI reload) then imports neither pandas nor duckdb (docs/performance.md).
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from ..store import warehouse
from .run_guard import guard_run


class WarehouseIOManager(dg.ConfigurableIOManagerFactory):
    """Per-cycle tables in the Workshop DuckDB file (schema `main`)."""

    database: str = Field(description="Path to the DuckDB database.")
    schema_: str | None = Field(
        default=None, alias="schema", description="Name of the schema for the tables."
    )  # `schema` is reserved by pydantic

    def create_io_manager(self, context: dg.InitResourceContext):
        from .duckdb_tables import warehouse_db_io_manager

        # Every run starts its IO manager before its first step: the moment to record the run's
        # process and free the pool slots of runs that died (run_guard).
        guard_run(context)
        # The run keeps the warehouse file between its connections (warehouse._Gate), until
        # its resources are torn down.
        warehouse.start_lingering()
        return warehouse_db_io_manager(self.database, self.schema_)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        warehouse.stop_lingering()
