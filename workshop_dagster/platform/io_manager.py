"""The IO manager of the per-cycle tables: dagster-duckdb's DbIOManager over the Workshop's
warehouse, with the guarded client and type handler of `duckdb_tables`; and the two things a run
does besides storing, each a resource of its own that the IO manager holds (configured in
`resources.py`): the dead-run guard (`run_guard.RunGuard`) and the warehouse connection kept
between a run's uses (`KeptConnection`).

A factory that imports them when a run starts it: the code location's load (every run, sensor
tick and UI reload) then imports neither pandas nor duckdb (docs/performance.md).
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from ..store import warehouse
from .run_guard import RunGuard


class KeptConnection(dg.ConfigurableResource):
    """A run keeps the warehouse between its connections (`warehouse._Gate`: ~60 uses a cycle,
    ~15 ms an open) until its resources are torn down, when it gives the warehouse back."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        warehouse.start_lingering()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        warehouse.stop_lingering()


class WarehouseIOManager(dg.ConfigurableIOManagerFactory):
    """Per-cycle tables in the Workshop warehouse (schema `main`)."""

    database: str = Field(description="The DuckDB file, or a lake's location (store/lake.py).")
    schema_: str | None = Field(
        default=None, alias="schema", description="Name of the schema for the tables."
    )  # `schema` is reserved by pydantic
    # Started with the IO manager, so before a run's first step (and before any other process
    # can wait on this run's pool slots).
    run_guard: RunGuard
    kept_connection: KeptConnection

    def create_io_manager(self, context: dg.InitResourceContext):
        from .duckdb_tables import warehouse_db_io_manager

        return warehouse_db_io_manager(self.database, self.schema_)


def warehouse_io_manager(database: str, schema: str = "main") -> WarehouseIOManager:
    """The IO manager with its own guard and kept connection (a test's or a tool's run; the
    code location's are shared with its other resources in `resources.py`)."""
    return WarehouseIOManager(
        database=database, schema=schema, run_guard=RunGuard(), kept_connection=KeptConnection()
    )
