"""The instance's SQLite event log, writing a partition range's events in one transaction.

A single-run backfill of a year of cycles logs one materialization per asset and cycle: ~10,000
events. Dagster's SQLite event log stores each on its own (a new engine, a connection and a commit
on the run's database, then again on the index): most of a year's loop (docs/performance.md). Dagster
batches these events itself when `DAGSTER_EVENT_BATCH_SIZE` is set (the events of one output over
a partition range form a batch) and its PostgreSQL storage writes a batch at once; its SQLite
storage stores a batch one event at a time. This class writes a batch as the PostgreSQL storage
does: one transaction on the run's database, one on the index, the asset's latest entry from the
batch's last event. Any other event is stored exactly as Dagster's SQLite storage stores it.

It also keeps one SQLAlchemy engine per database file (the most recent few): Dagster's storage
builds a new engine for every write (~2.5 ms, then disposes of it), and a cycle run writes ~120
events, each to the run's database and most again to the index. The engines keep no connection
open (NullPool, as Dagster's), so files, locks and the UI's file watching behave as before.
"""

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import Field, StringSource
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import _event_logs_directory
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

# Dagster's batches hold the events of one output of one step over a partition range.
_BATCHED_KINDS = (
    {DagsterEventType.ASSET_MATERIALIZATION},
    {DagsterEventType.ASSET_OBSERVATION},
)


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log; a batch of one run's materializations (or observations) is
    written in one transaction per database, all or nothing, instead of one per event.

    `base_dir` defaults to where Dagster's default storage keeps the event log of the instance
    (`history/runs` under the instance's folder), so an instance keeps its history when it
    switches to this class. The folder is `$DAGSTER_HOME`, or, when that is not set (`dagster dev`
    in the project folder makes a temporary instance there from the project's dagster.yaml), the
    one the instance registers with: the storage then opens when the instance registers it."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        home = os.environ.get("DAGSTER_HOME")
        self._deferred_inst_data = inst_data
        if base_dir or home:
            super().__init__(base_dir or _event_logs_directory(home), inst_data=inst_data)

    def register_instance(self, instance) -> None:
        if not hasattr(self, "_base_dir"):  # no folder known at construction: the instance's
            SqliteEventLogStorage.__init__(
                self,
                _event_logs_directory(instance.root_directory),
                inst_data=self._deferred_inst_data,
            )
        super().register_instance(instance)

    ENGINES_KEPT = 16

    def _engine(self, shard: str) -> Engine:
        engines = self.__dict__.setdefault("_engines", OrderedDict())
        engine = engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
        engines[shard] = engine
        while len(engines) > self.ENGINES_KEPT:
            engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        """Dagster's `_connect`, on a kept engine instead of a new one each time."""
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "BatchedSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        kinds = {event.dagster_event_type for event in events}
        runs = {event.run_id for event in events}
        if kinds not in _BATCHED_KINDS or len(runs) != 1 or not next(iter(runs)):
            super().store_event_batch(events)  # one at a time, as Dagster's SQLite storage does
            return
        run_id = runs.pop()
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(run_id) as conn:
            run_ids = [conn.execute(s).inserted_primary_key[0] for s in statements]
        try:
            with self.index_transaction() as conn:
                event_ids = [conn.execute(s).inserted_primary_key[0] for s in statements]
                self._store_asset_event_tags(conn, events, event_ids)
                latest = {
                    event.dagster_event.asset_key: (event, event_id)
                    for event, event_id in zip(events, event_ids, strict=True)
                }
                for event, event_id in latest.values():
                    self._store_asset_event(conn, event, event_id)
        except Exception:
            # All or nothing: Dagster answers a failed batch by storing its events one at a time,
            # which must not find them already in the run's database.
            with self.run_connection(run_id) as conn:
                conn.execute(
                    SqlEventLogStorageTable.delete().where(
                        SqlEventLogStorageTable.c.id.in_(run_ids)
                    )
                )
            raise
