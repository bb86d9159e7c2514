"""The instance's SQLite event log: one database, a range's events written at once, slim check rows.

Dagster's default SQLite event log keeps a database per run and copies every asset event into an
index database. A year of the 16-a-day cadence in one run stored each of its ~56,000
materializations twice, one per 4 KB page, and the planned event of each partitioned check once
per cycle with the whole partitions definition in it (~470 closed-day exclusions, ~47 KB a row):
1.5 GB of instance (docs/performance.md). This is Dagster's consolidated SQLite event log (one
database, every event stored once) with these changes:

- a batch of one run's materializations (or observations) over a range of cycles is written in
  one transaction (Dagster hands them over in batches when DAGSTER_EVENT_BATCH_SIZE is set; its
  SQLite storages then store them one at a time, ~11 ms each);
- the database has 16 KB pages, so events of 2-3 KB share pages instead of taking one each;
- a partitioned check planned over a range gets one row per cycle, as Dagster writes it, but
  each row holds the planned event without the partition subset (the row's partition says which
  cycle); and the check's one evaluation over the range is recorded on each cycle's row, its
  metadata on the last cycle's (Dagster 1.13 stores it on a row of no partition and leaves every
  cycle "planned", which its UI shows as skipped);
- every event is stored as compact JSON (Dagster writes ", " and ": ", a tenth of an event),
  and the per-cycle materializations of a range, but each asset's last, and each cycle's check
  row without the log message, the logging tags and the step's and op's handles that repeat the
  step's other events (the step key stays): a year of cycles' events take ~0.6 of the room;
- one SQLAlchemy engine is kept for the process (NullPool, as Dagster's: no connection stays
  open, so files, locks and the UI's file watching behave as before).

An instance whose history is in Dagster's per-run databases (`history/runs`, where the project's
event log kept it before) has it copied in, in time order, when this database is first made.

(Over 350 lines: one storage class overriding Dagster's at the places listed above; apart, the
overrides would hide from each other.)
"""

import json
import logging
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from dagster import Field, StringSource
from dagster._core.events import AssetObservationData, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetEventTagsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData, deserialize_value, serialize_value
from dagster_shared.record import copy
from sqlalchemy import Table, and_, bindparam, create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# Dagster's batches hold the events of one output of one step over a partition range.
_BATCHED_KINDS = (
    {DagsterEventType.ASSET_MATERIALIZATION},
    {DagsterEventType.ASSET_OBSERVATION},
)
PAGE_SIZE = 16384
# Dagster's serializer takes json.dumps's arguments; its reader reads either form.
COMPACT = {"separators": (",", ":")}
# Stands for a cycle's partition in a check evaluation serialized once for all the range's cycles.
_PARTITION_MARK = "workshop:partition-of-this-row"
_PARTITION_JSON = json.dumps(_PARTITION_MARK)
# Stands for an event's time in an event serialized once for a range's events.
_TIME_MARK = "workshop:time-of-this-row"
_TIME_JSON = json.dumps(_TIME_MARK)
# The mark the database carries once made (and any earlier history copied in).
READY_MARK = "workshop_event_log_ready"
# How long a process waits for another to make the database (copying a long history included).
MAKE_TIMEOUT_S = 1800


def events_directory(home: str | os.PathLike) -> Path:
    """Where the instance in `home` keeps its event log."""
    return Path(home) / "history" / "events"


class BatchedSqliteEventLogStorage(ConsolidatedSqliteEventLogStorage):
    """Dagster's consolidated SQLite event log, with the changes the module's docstring lists.

    `base_dir` defaults to `history/events` in the folder of the instance that registers the
    storage (its `root_directory`: `$DAGSTER_HOME` for `make ui`, a temporary folder for the
    evaluation or a bare `dagster dev`); the storage opens then."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        self._deferred_inst_data = inst_data
        if base_dir:
            self._open(str(base_dir))

    def register_instance(self, instance) -> None:
        # The folder of the instance that registers the storage, never $DAGSTER_HOME's when
        # that is another instance: the evaluation's temporary instance, run under `make`
        # (which exports DAGSTER_HOME), wrote its runs into the user's history.
        if not hasattr(self, "_base_dir"):
            self._open(str(events_directory(instance.root_directory)))
        super().register_instance(instance)

    def _open(self, base_dir: str) -> None:
        ConsolidatedSqliteEventLogStorage.__init__(
            self, base_dir, inst_data=self._deferred_inst_data
        )
        self._make_once()

    def _init_db(self) -> None:
        """Dagster's constructor calls this when the file is missing; `_make_once` makes it,
        under a lock, after the constructor."""

    def _make_once(self) -> None:
        """Make the database (16 KB pages, Dagster's tables, the history of the per-run
        databases beside it), once: processes that start together wait for the first; one killed
        while making it leaves a database without the mark, made again by the next."""
        from filelock import FileLock

        path = Path(self.get_db_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.lock", timeout=MAKE_TIMEOUT_S):
            if _is_ready(path):
                return
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            with closing(sqlite3.connect(path)) as conn:
                conn.execute(f"pragma page_size = {PAGE_SIZE}")
                conn.execute("pragma journal_mode = wal")  # writes the header: the size holds
            ConsolidatedSqliteEventLogStorage._init_db(self)
            # Dagster's per-run event log (and this project's, before) beside it: history/runs.
            legacy = Path(self._base_dir).parent / "runs"
            if (legacy / "index.db").exists():
                copy_history(legacy, self)
            self.enable_secondary_index(READY_MARK)

    def _engine(self) -> Engine:
        kept = self.__dict__.get("_kept_engine")
        if kept is None or kept[0] != os.getpid():
            engine = create_engine(
                self._conn_string,
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            kept = self.__dict__["_kept_engine"] = (os.getpid(), engine)
        return kept[1]

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        """Dagster's `_connect`, on the kept engine instead of a new one each time."""
        with self._engine().connect() as conn, conn.begin():
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
        last = {event.dagster_event.asset_key: i for i, event in enumerate(events)}
        last_ids = set(last.values())
        stored = [event if i in last_ids else _slim(event) for i, event in enumerate(events)]
        texts = serialized(stored)
        rows = [self._event_to_row(event, text) for event, text in zip(stored, texts, strict=True)]
        # One transaction: all the batch or none of it (Dagster answers a failed batch by
        # storing its events one at a time).
        with self.index_transaction() as conn:
            event_ids = _insert_events(conn, rows)
            self._store_asset_event_tags(conn, events, event_ids)
            latest = {
                event.dagster_event.asset_key: (event, event_id)
                for event, event_id in zip(events, event_ids, strict=True)
            }
            for event, event_id in latest.values():
                self._store_asset_event(conn, event, event_id)

    def _event_to_row(self, event: EventLogEntry, text: str | None = None) -> dict[str, Any]:
        """Dagster's row of an event (its columns, tested against Dagster's own), the event in
        compact JSON (`text`, when the caller has it already)."""
        dagster_event = event.dagster_event if event.is_dagster_event else None
        asset_key = dagster_event.asset_key if dagster_event else None
        return {
            "run_id": event.run_id,
            "event": serialize_value(event, **COMPACT) if text is None else text,
            "dagster_event_type": dagster_event.event_type_value if dagster_event else None,
            "timestamp": self._event_insert_timestamp(event),
            "step_key": dagster_event.step_key if dagster_event else event.step_key,
            "asset_key": asset_key.to_string() if asset_key else None,
            "partition": (dagster_event.partition or None) if dagster_event else None,
        }

    def _store_asset_event_tags(
        self, conn: Connection, events: Sequence[EventLogEntry], event_ids: Sequence[int]
    ) -> None:
        """Dagster's rows of the indexed tags (an event's data version), inserted through the
        driver: a year's 24,000 rows compiled by SQLAlchemy were a fifth of its event writing."""
        rows = []
        names: dict[Any, str] = {}
        for event_id, event in zip(event_ids, events, strict=True):
            tags = self._tags_for_asset_event(event)
            if not tags:
                continue
            key = event.dagster_event.asset_key
            name = names.get(key) or names.setdefault(key, key.to_string())
            at = self._event_insert_timestamp(event)
            rows += [
                {
                    "event_id": event_id,
                    "asset_key": name,
                    "key": k,
                    "value": v,
                    "event_timestamp": at,
                }
                for k, v in tags.items()
            ]
        if rows and self.has_table(AssetEventTagsTable.name):
            _insert_rows(conn, AssetEventTagsTable, rows)

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        planned = event.dagster_event.event_specific_data
        if planned.partitions_subset is None:
            super()._store_asset_check_evaluation_planned(event, event_id)
            return
        keys = planned.partitions_subset.get_partition_keys()
        # Each cycle's row says its partition; the subset (with the partitions definition and
        # its exclusions) is in the event log's own copy of the event, once.
        slim = serialize_value(_with_data(event, copy(planned, partitions_subset=None)), **COMPACT)
        common = dict(
            asset_key=planned.asset_key.to_string(),
            check_name=planned.check_name,
            run_id=event.run_id,
            execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
            evaluation_event=slim,
            evaluation_event_timestamp=self._event_insert_timestamp(event),
            evaluation_event_storage_id=event_id,
        )
        with self.index_connection() as conn:
            _insert_rows(
                conn, AssetCheckExecutionsTable, [{**common, "partition": k} for k in keys]
            )

    def _update_asset_check_evaluation(self, event: EventLogEntry, event_id: int | None) -> None:
        evaluation = event.dagster_event.event_specific_data
        if evaluation.partition is not None:
            super()._update_asset_check_evaluation(event, event_id)
            return
        table = AssetCheckExecutionsTable
        planned_rows = and_(
            table.c.asset_key == evaluation.asset_key.to_string(),
            table.c.check_name == evaluation.check_name,
            table.c.run_id == event.run_id,
            table.c.partition.isnot(None),
            table.c.execution_status == AssetCheckExecutionRecordStatus.PLANNED.value,
        )
        with self.index_connection() as conn:
            keys = sorted(
                r[0]
                for r in conn.execute(
                    table.select().with_only_columns(table.c.partition).where(planned_rows)
                )
            )
        if not keys:  # an unpartitioned check, or one run on a single cycle
            super()._update_asset_check_evaluation(event, event_id)
            return
        # A range run evaluates a partitioned check once over all its cycles: the outcome is
        # each cycle's; the metadata (which lists the cycles at fault) goes on the last one.
        status = (
            AssetCheckExecutionRecordStatus.SUCCEEDED
            if evaluation.passed
            else AssetCheckExecutionRecordStatus.FAILED
        ).value
        target = evaluation.target_materialization_data
        # The cycles' events differ only in their partition: serialized once with a marker in
        # its place, which each row's key (as JSON) replaces.
        marked = serialize_value(
            _with_data(event, copy(evaluation, partition=_PARTITION_MARK, metadata={})), **COMPACT
        )
        last = copy(evaluation, partition=keys[-1])
        events = {
            key: marked.replace(json.dumps(_PARTITION_MARK), json.dumps(key)) for key in keys[:-1]
        }
        events[keys[-1]] = serialize_value(_with_data(event, last), **COMPACT)
        update = (
            table.update()
            .where(and_(planned_rows, table.c.partition == bindparam("cycle")))
            .values(
                execution_status=status,
                evaluation_event=bindparam("event"),
                evaluation_event_timestamp=self._event_insert_timestamp(event),
                evaluation_event_storage_id=event_id,
                materialization_event_storage_id=target.storage_id if target else None,
            )
        )
        with self.index_connection() as conn:
            conn.execute(update, [{"cycle": key, "event": events[key]} for key in keys])


def serialized(events: Sequence[EventLogEntry]) -> list[str]:
    """Each event as `serialize_value` writes it in compact JSON. A range's materializations of
    one output differ only in their cycle and time: an event equal to the one before it in all
    else is written from that one's text with its own cycle and time put in (serializing 24,000
    near-identical events one by one was a third of a year's market run's event writing)."""
    texts = []
    shape = template = None
    for event in events:
        marked = _marked(event)
        if marked is None:
            texts.append(serialize_value(event, **COMPACT))
            continue
        if marked != shape:
            shape, template = marked, _Template(serialize_value(marked, **COMPACT))
        if template.pieces is None:  # a mark's own text is in the event: written whole
            texts.append(serialize_value(event, **COMPACT))
            continue
        texts.append(template.fill(event.dagster_event.partition, event.timestamp))
    return texts


class _Template:
    """An event's text with its partition and time marked, cut at the two marks."""

    def __init__(self, text: str):
        self.pieces = None
        if text.count(_PARTITION_JSON) == 1 and text.count(_TIME_JSON) == 1:
            slots = sorted((text.index(m), m) for m in (_PARTITION_JSON, _TIME_JSON))
            (first, mark1), (second, mark2) = slots
            self.time_first = mark1 == _TIME_JSON
            self.pieces = (
                text[:first],
                text[first + len(mark1) : second],
                text[second + len(mark2) :],
            )

    def fill(self, partition: str, timestamp: float) -> str:
        values = (json.dumps(partition), json.dumps(timestamp))
        a, b = values[::-1] if self.time_first else values
        head, middle, tail = self.pieces
        return f"{head}{a}{middle}{b}{tail}"


def _marked(event: EventLogEntry) -> EventLogEntry | None:
    """A partitioned materialization or observation with marks in place of its partition and
    time (what serializing it once for its like needs); None for any other event."""
    dagster_event = event.dagster_event
    data = dagster_event.event_specific_data if dagster_event else None
    if isinstance(data, StepMaterializationData):
        inner, field = data.materialization, "materialization"
    elif isinstance(data, AssetObservationData):
        inner, field = data.asset_observation, "asset_observation"
    else:
        return None
    if inner.partition is None or not isinstance(event.timestamp, float):
        return None
    data = data._replace(**{field: inner._replace(partition=_PARTITION_MARK)})
    return event._replace(
        timestamp=_TIME_MARK, dagster_event=dagster_event._replace(event_specific_data=data)
    )


def _insert_events(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert event rows through the driver (`_insert_rows`) and return their ids in the rows'
    order. The rows take consecutive ids: the transaction holds SQLite's write lock from its
    first insert, and each row gets the largest id plus one; the block is counted back before
    the ids are trusted."""
    table = SqlEventLogStorageTable
    _insert_rows(conn, table, rows)
    cursor = conn.connection.driver_connection.cursor()  # the same connection: its last id
    try:
        last = cursor.execute("select last_insert_rowid()").fetchone()[0]
        first = last - len(rows) + 1
        ours = cursor.execute(
            f"select count(*) from {table.name} where id between ? and ? and run_id = ?",
            (first, last, rows[0]["run_id"]),
        ).fetchone()[0]
    finally:
        cursor.close()
    if ours != len(rows):
        raise sqlite3.OperationalError(
            f"the batch's {len(rows)} events did not take consecutive ids ({ours} of them in "
            f"{first}..{last}); the batch is rolled back"
        )
    return list(range(first, last + 1))


def _insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (of the same columns) in one `executemany` through the driver, each value
    converted as SQLAlchemy binds it (SQLAlchemy compiling an INSERT for each of a year's 24,000
    events, tags or check rows was a fifth of the event writing)."""
    if not rows:
        return
    columns = list(rows[0])
    convert = [
        table.c[name].type.bind_processor(conn.dialect) or (lambda value: value) for name in columns
    ]
    values = [tuple(f(row[name]) for f, name in zip(convert, columns, strict=True)) for row in rows]
    names = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    with closing(conn.connection.driver_connection.cursor()) as cursor:
        cursor.executemany(f"insert into {table.name} ({names}) values ({marks})", values)


def _slim(event: EventLogEntry) -> EventLogEntry:
    """A materialization of a range without the log message, logging tags and handles (the
    step's, on every event of the step already)."""
    return _with_data(event, event.dagster_event.event_specific_data)


def _with_data(event: EventLogEntry, data) -> EventLogEntry:
    """`event` carrying `data`, for a check's row of one cycle or a range's earlier
    materialization: without the log message, the logging tags and the step's and op's handles
    (the step key stays; Dagster's UI and readers take the step from it and accept events
    without handles), which the step's other events carry."""
    dagster_event = event.dagster_event._replace(
        event_specific_data=data, message=None, logging_tags={}, step_handle=None, node_handle=None
    )
    return event._replace(dagster_event=dagster_event, user_message="")


def _is_ready(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute(
                "select 1 from secondary_indexes where name = ?", (READY_MARK,)
            ).fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def copy_history(legacy: Path, storage: BatchedSqliteEventLogStorage) -> int:
    """Store the events of Dagster's per-run databases in `legacy` into `storage`, in the order
    they happened (so every index, asset entry and check row is rebuilt by Dagster's own code),
    with the pool limits and dynamic partitions of its index (slots claimed by runs of the old
    history are not: those runs have ended). Returns the events copied."""
    rows = []
    for shard in sorted(legacy.glob("*.db")):
        if shard.name == "index.db":
            continue
        try:
            with closing(sqlite3.connect(f"file:{shard}?mode=ro", uri=True)) as conn:
                rows += conn.execute("select timestamp, id, event from event_logs").fetchall()
        except sqlite3.Error as exc:
            raise RuntimeError(
                f"cannot copy the run history in {shard} into the instance's event log ({exc}); "
                "nothing was copied: move that file out of the folder to copy the rest"
            ) from exc
    rows.sort(key=lambda r: (r[0], r[1]))
    log.warning(
        "workshop: copying %d events of the per-run event log in %s into %s (once)",
        len(rows),
        legacy,
        storage.get_db_path(),
    )
    batch: list[EventLogEntry] = []
    for _, _, text in rows:
        event = deserialize_value(text, EventLogEntry)
        if batch and not _same_batch(batch[-1], event):
            _store(storage, batch)
            batch = []
        batch.append(event)
    _store(storage, batch)
    with closing(sqlite3.connect(f"file:{legacy / 'index.db'}?mode=ro", uri=True)) as index:
        try:
            limits = index.execute(
                'select concurrency_key, "limit" from concurrency_limits where not using_default_limit'
            ).fetchall()
            partitions = index.execute(
                "select partitions_def_name, partition from dynamic_partitions order by id"
            ).fetchall()
        except sqlite3.Error:  # an index from before Dagster had these tables
            limits, partitions = [], []
    for key, limit in limits:  # pools set with `dagster instance concurrency set`
        storage.set_concurrency_slots(key, limit)
    names = {}
    for name, key in partitions:
        names.setdefault(name, []).append(key)
    for name, keys in names.items():
        storage.add_dynamic_partitions(name, keys)
    return len(rows)


def _same_batch(a: EventLogEntry, b: EventLogEntry) -> bool:
    kinds = (DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION)
    return (
        a.run_id == b.run_id
        and a.dagster_event_type in kinds
        and a.dagster_event_type == b.dagster_event_type
        and a.dagster_event.asset_key == b.dagster_event.asset_key
    )


def _store(storage: BatchedSqliteEventLogStorage, batch: list[EventLogEntry]) -> None:
    if len(batch) > 1:
        storage.store_event_batch(batch)
    elif batch:
        storage.store_event(batch[0])
