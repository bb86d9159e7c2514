"""The project's event log (workshop_dagster/platform/event_log.py) against Dagster's own SQLite
event logs: the same single-run backfill leaves the same events as Dagster's consolidated storage
and reads back the same as its default one, batched or not; a failed batch leaves no duplicates;
a range's check is recorded on each of its cycles; an older history is copied in once."""

import sqlite3
from contextlib import closing
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.ref import InstanceRef

from tests.conftest import PROJECT
from workshop_dagster.platform.event_log import (
    PAGE_SIZE,
    READY_MARK,
    BatchedSqliteEventLogStorage,
)

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2025-01-31")
RANGE = {
    "dagster/asset_partition_range_start": "2025-01-02",
    "dagster/asset_partition_range_end": "2025-01-29",
}
N_DAYS = 28
CONSOLIDATED = {
    "module": "dagster._core.storage.event_log",
    "class": "ConsolidatedSqliteEventLogStorage",
}


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def quotes(context: dg.AssetExecutionContext) -> dict:
    return {key: len(key) for key in context.partition_keys}


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def signals(context: dg.AssetExecutionContext, quotes: dict) -> dict:
    context.add_output_metadata({"cycles": len(context.partition_keys)})
    return quotes


def signals_check(passed: bool) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=signals, partitions_def=DAYS, name="signals_check")
    def check(signals: dict) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=passed, metadata={"cycles seen": len(signals)})

    return check


def instance_in(home: Path, storage: str, monkeypatch) -> dg.DagsterInstance:
    """An instance from the project's dagster.yaml ("project"), or with Dagster's consolidated
    SQLite event log in the same folder ("consolidated"), or with Dagster's default ("default")."""
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    assert config["event_log_storage"]["class"] == BatchedSqliteEventLogStorage.__name__
    if storage == "default":
        del config["event_log_storage"]
    elif storage == "consolidated":
        base = str(home / "history" / "events")
        config["event_log_storage"] = {**CONSOLIDATED, "config": {"base_dir": base}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def backfill(instance: dg.DagsterInstance, *checks) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [quotes, signals, *checks],
        instance=instance,
        tags=RANGE,
        resources={"io_manager": dg.mem_io_manager},
        raise_on_error=False,
    )
    return result


def records(home: Path) -> dict[str, list]:
    """What the instance wrote, without what differs between two runs (ids, times, run id)."""
    with closing(sqlite3.connect(home / "history" / "events" / "event_log.db")) as db:
        events = (
            "select dagster_event_type, asset_key, partition, step_key from event_logs "
            "where dagster_event_type is not null order by id"
        )
        return {
            "events": db.execute(events).fetchall(),
            # Data versions hash the run's id (the default code version), so only their presence
            # and the event they point at are compared.
            "asset tags": db.execute(
                "select t.asset_key, t.key, length(t.value), e.partition, "
                "t.event_timestamp = e.timestamp from asset_event_tags t "
                "join event_logs e on e.id = t.event_id order by t.id"
            ).fetchall(),
            "asset keys": db.execute(
                "select asset_key, last_run_id is not null from asset_keys order by asset_key"
            ).fetchall(),
        }


def views(instance: dg.DagsterInstance) -> dict[str, object]:
    """What Dagster's UI and sensors read back."""
    found = {}
    for key in (dg.AssetKey("quotes"), dg.AssetKey("signals")):
        latest = instance.get_latest_materialization_event(key)
        found[key.to_user_string()] = (
            sorted(instance.get_materialized_partitions(key)),
            [r.partition_key for r in instance.fetch_materializations(key, limit=100).records],
            latest.dagster_event.partition,
            sorted(latest.asset_materialization.metadata),
        )
    return found


def check_rows(instance: dg.DagsterInstance) -> list[tuple]:
    """Each cycle's check execution as Dagster reads it: partition, status, its metadata."""
    key = dg.AssetCheckKey(dg.AssetKey("signals"), "signals_check")
    history = instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
    return sorted(
        (
            (r.partition, r.status.value, sorted(r.evaluation.metadata) if done else None)
            for r in history
            for done in [r.status.value != "PLANNED"]
        ),
        key=lambda row: (row[0] or "", row[1]),
    )


@pytest.fixture
def stock(tmp_path, monkeypatch):
    """Dagster's consolidated event log (what ours is stored as) after the backfill."""
    home = tmp_path / "stock"
    with instance_in(home, "consolidated", monkeypatch) as instance:
        assert backfill(instance).success
        yield records(home), views(instance)


def test_a_batch_is_written_at_once_and_leaves_what_dagster_leaves(tmp_path, stock, monkeypatch):
    one_at_a_time = []
    original = BatchedSqliteEventLogStorage.store_event

    def counted(self, event):
        one_at_a_time.append(event.dagster_event_type)
        original(self, event)

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "store_event", counted)
    home = tmp_path / "project"
    with instance_in(home, "project", monkeypatch) as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        assert backfill(instance).success
        assert (records(home), views(instance)) == stock
    # Every materialization arrived in a batch: none was stored on its own.
    assert dg.DagsterEventType.ASSET_MATERIALIZATION not in one_at_a_time
    assert len(stock[0]["asset tags"]) == 2 * N_DAYS
    assert stock[1]["signals"][0] == sorted(DAYS.get_partition_keys())[1 : 1 + N_DAYS]
    # Dagster's default (per-run) SQLite event log reads back the same.
    with instance_in(tmp_path / "default", "default", monkeypatch) as instance:
        assert backfill(instance).success
        assert views(instance) == stock[1]


def test_a_failed_batch_is_stored_again_one_event_at_a_time_without_duplicates(
    tmp_path, stock, monkeypatch
):
    failures = []
    original = BatchedSqliteEventLogStorage._store_asset_event_tags

    def fails_once(self, conn, events, event_ids):
        if not failures and len(events) > 1:  # the first batch of materializations
            failures.append(len(events))
            raise sqlite3.OperationalError("database is locked")
        original(self, conn, events, event_ids)

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "_store_asset_event_tags", fails_once)
    home = tmp_path / "project"
    with instance_in(home, "project", monkeypatch) as instance:
        assert backfill(instance).success
        assert (records(home), views(instance)) == stock
    assert failures == [N_DAYS]


@pytest.mark.parametrize("passed", [True, False])
def test_a_range_check_is_recorded_on_each_of_its_cycles_in_rows_without_the_partitions(
    tmp_path, monkeypatch, passed
):
    """Dagster 1.13 evaluates a partitioned check once over a range run and records it on a row
    of no partition, leaving each cycle's row planned (its UI: skipped); each of those rows held
    the planned event with the whole partitions definition (~47 KB with the cycles' exclusions)."""
    keys = DAYS.get_partition_keys()[1 : 1 + N_DAYS]
    status = "SUCCEEDED" if passed else "FAILED"
    with instance_in(tmp_path / "stock", "default", monkeypatch) as instance:
        backfill(instance, signals_check(passed))
        stock = check_rows(instance)
    assert (None, status, ["cycles seen"]) in stock
    assert sorted(r[:2] for r in stock if r[0]) == [(k, "PLANNED") for k in keys]

    home = tmp_path / "project"
    with instance_in(home, "project", monkeypatch) as instance:
        backfill(instance, signals_check(passed))
        ours = check_rows(instance)
    assert ours == [(k, status, ["cycles seen"] if k == keys[-1] else []) for k in keys]
    # Each row's evaluation names the row's own cycle (written once, the cycle put in per row).
    key = dg.AssetCheckKey(dg.AssetKey("signals"), "signals_check")
    with instance_in(home, "project", monkeypatch) as instance:
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
    assert sorted((r.partition, r.evaluation.partition) for r in history) == [(k, k) for k in keys]
    with closing(sqlite3.connect(home / "history" / "events" / "event_log.db")) as db:
        sizes = [
            r[0] for r in db.execute("select length(evaluation_event) from asset_check_executions")
        ]
        planned = db.execute(
            "select length(event) from event_logs "
            "where dagster_event_type = 'ASSET_CHECK_EVALUATION_PLANNED'"
        ).fetchall()
    assert len(sizes) == N_DAYS and max(sizes) < 1500
    assert len(planned) == 1  # the event log's one copy keeps the subset


def test_a_history_in_dagsters_per_run_databases_is_copied_in_once(tmp_path, monkeypatch):
    home = tmp_path / "home"
    with instance_in(home, "default", monkeypatch) as instance:
        assert backfill(instance).success
        assert backfill(instance, signals_check(True)).success
        instance.event_log_storage.set_concurrency_slots("llm", 3)
        before = views(instance), check_rows(instance)
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        assert views(instance) == before[0]
        # The second run's check, as this storage records a range check.
        assert [r[1] for r in check_rows(instance)] == ["SUCCEEDED"] * N_DAYS
        assert instance.event_log_storage.get_concurrency_info("llm").slot_count == 3
        n_events = len(records(home)["events"])
    with dg.DagsterInstance.get() as instance:  # opened again: nothing copied twice
        assert len(records(home)["events"]) == n_events


def test_the_database_is_made_once_with_large_pages_and_remade_if_left_half_made(
    tmp_path, monkeypatch
):
    events = str(tmp_path / "history" / "events")
    storage = BatchedSqliteEventLogStorage(events)
    path = Path(storage.get_db_path())
    assert path == tmp_path / "history" / "events" / "event_log.db"
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("pragma page_size").fetchone()[0] == PAGE_SIZE
        db.execute("delete from secondary_indexes where name = ?", (READY_MARK,))
        db.execute(
            "insert into dynamic_partitions (partitions_def_name, partition) values ('x', 'y')"
        )
        db.commit()
    storage.dispose()
    # A database without the mark (a process killed while making it) is made again.
    BatchedSqliteEventLogStorage(events).dispose()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("select count(*) from dynamic_partitions").fetchone()[0] == 0
        assert (
            db.execute(
                "select count(*) from secondary_indexes where name = ?", (READY_MARK,)
            ).fetchone()[0]
            == 1
        )


def test_the_event_log_lives_in_the_instances_folder(tmp_path, monkeypatch):
    assert BatchedSqliteEventLogStorage(str(tmp_path / "elsewhere"))._base_dir.endswith("elsewhere")
    # An instance made in another folder than DAGSTER_HOME's (the evaluation's temporary one
    # under `make`, which exports DAGSTER_HOME; or no DAGSTER_HOME at all, `dagster dev` in the
    # project folder): the event log lives in the folder the instance was made in, and the
    # user's history is not written.
    users = tmp_path / "users_home"
    users.mkdir()
    for home in (str(users), None):
        if home:
            monkeypatch.setenv("DAGSTER_HOME", home)
        else:
            monkeypatch.delenv("DAGSTER_HOME", raising=False)
        folder = tmp_path / f"temporary-{bool(home)}"
        folder.mkdir()
        ref = InstanceRef.from_dir(str(folder), config_dir=str(PROJECT))
        with dg.DagsterInstance.from_ref(ref) as inst:
            storage = inst.event_log_storage
            assert isinstance(storage, BatchedSqliteEventLogStorage)
            assert Path(storage._base_dir) == folder / "history" / "events"
    assert not (users / "history").exists()


def test_the_demo_uses_the_projects_instance_when_dagster_home_is_not_set(tmp_path, monkeypatch):
    from workshop_dagster.commands.job_runs import project_instance

    (tmp_path / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", "")  # so the test's end restores it, whatever it was
    monkeypatch.delenv("DAGSTER_HOME")
    with project_instance(tmp_path, tmp_path / "data") as instance:
        assert Path(instance.root_directory) == tmp_path / ".dagster_home"
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
    # Another data folder (the real-data demo's) records its runs beside its warehouse.
    monkeypatch.delenv("DAGSTER_HOME")
    with project_instance(tmp_path, tmp_path / "data" / "real") as instance:
        assert Path(instance.root_directory) == tmp_path / "data" / "real" / ".dagster_home"
    # The instance file is the user's once made: never overwritten.
    mine = tmp_path / ".dagster_home" / "dagster.yaml"
    mine.write_text(mine.read_text() + "\n# my PostgreSQL block would be here\n")
    monkeypatch.delenv("DAGSTER_HOME")
    with project_instance(tmp_path, tmp_path / "data"):
        assert mine.read_text().endswith("# my PostgreSQL block would be here\n")


def test_an_instance_file_naming_the_former_module_path_still_loads(tmp_path, monkeypatch):
    """`make` never overwrites .dagster_home/dagster.yaml, so files naming the event log's path
    from before it moved under platform/ must keep working."""
    text = (PROJECT / "dagster.yaml").read_text()
    old = text.replace("workshop_dagster.platform.event_log", "workshop_dagster.event_log")
    assert old != text
    (tmp_path / "dagster.yaml").write_text(old)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)


def test_a_corrupt_run_database_in_the_old_history_is_named_and_nothing_is_half_copied(
    tmp_path, monkeypatch
):
    home = tmp_path / "home"
    with instance_in(home, "default", monkeypatch) as instance:
        assert backfill(instance).success
    bad = home / "history" / "runs" / "0000-corrupt.db"
    bad.write_bytes(b"not a database" * 100)
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    with pytest.raises(Exception, match="0000-corrupt.db.*move that file out"):
        dg.DagsterInstance.get()
    bad.unlink()
    with dg.DagsterInstance.get() as instance:  # made again, whole, once the file is gone
        assert len(instance.get_materialized_partitions(dg.AssetKey("signals"))) == N_DAYS


def test_events_are_stored_compact_and_a_ranges_earlier_materializations_without_the_envelope(
    tmp_path, monkeypatch
):
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
    from dagster._serdes import deserialize_value

    home = tmp_path / "project"
    with instance_in(home, "project", monkeypatch) as instance:
        assert backfill(instance).success
        storage = instance.event_log_storage
        run_id = instance.get_runs()[0].run_id
        entries = [r.event_log_entry for r in instance.get_records_for_run(run_id).records]
        # Each row has Dagster's columns; only the event's JSON is written differently.
        for entry in entries:
            ours, dagsters = (
                storage._event_to_row(entry),
                SqlEventLogStorage._event_to_row(storage, entry),
            )
            assert {**ours, "event": None} == {**dagsters, "event": None}
            assert deserialize_value(ours["event"]) == deserialize_value(dagsters["event"])
            assert len(ours["event"]) < len(dagsters["event"])
    with closing(sqlite3.connect(home / "history" / "events" / "event_log.db")) as db:
        rows = db.execute(
            "select asset_key, partition, event from event_logs "
            "where dagster_event_type = 'ASSET_MATERIALIZATION' order by id"
        ).fetchall()
    assert len(rows) == 2 * N_DAYS and all('", "' not in event for _, _, event in rows)
    last = {key: partition for key, partition, _ in rows}
    for key, partition, event in rows:
        entry = deserialize_value(event)
        kept = partition == last[key]
        # The last cycle's keeps the message, the step's logging tags and handles; the others
        # read back the same asset, partition, step, tags and metadata without them.
        assert bool(entry.user_message) == kept and bool(entry.dagster_event.logging_tags) == kept
        assert (entry.dagster_event.step_handle is not None) == kept
        assert (entry.dagster_event.node_handle is not None) == kept
        assert entry.dagster_event.step_key == entry.step_key == "signals" or key != '["signals"]'

        assert entry.dagster_event.partition == partition
        assert entry.asset_materialization.tags["dagster/data_version"]


def test_a_ranges_events_serialized_once_for_their_like_read_as_each_serialized_alone(
    tmp_path, monkeypatch
):
    """`serialized` writes an event like the one before it from that one's text: the result is
    `serialize_value`'s, to the byte, for a run's events, and for events that differ in anything
    else (metadata, tags, an odd partition key, a key carrying the mark's own text)."""
    from dagster._core.definitions.metadata import MetadataValue
    from dagster._serdes import serialize_value

    from workshop_dagster.platform.event_log import COMPACT, serialized

    with instance_in(tmp_path / "project", "project", monkeypatch) as instance:
        assert backfill(instance).success
        run_id = instance.get_runs()[0].run_id
        entries = [r.event_log_entry for r in instance.get_records_for_run(run_id).records]
    ranged = [e for e in entries if e.dagster_event and e.dagster_event.partition]
    assert len(ranged) >= 2 * N_DAYS

    def changed(entry, **fields):
        data = entry.dagster_event.event_specific_data
        materialization = data.materialization._replace(**fields)
        return entry._replace(
            dagster_event=entry.dagster_event._replace(
                event_specific_data=data._replace(materialization=materialization)
            )
        )

    first = ranged[0].dagster_event.event_specific_data.materialization
    odd = [
        changed(ranged[3], metadata={**first.metadata, "x": MetadataValue.int(7)}),
        changed(ranged[4], tags={**(first.tags or {}), "extra": "tag"}),
        changed(ranged[5], partition='2025-01-06 "quoted" \\ \u00e9'),
        changed(ranged[6], partition="workshop:time-of-this-row"),
        changed(ranged[7], description="workshop:partition-of-this-row"),
        ranged[8]._replace(timestamp=ranged[8].timestamp + 1e-6),
    ]
    events = entries + ranged[:3] + odd + ranged[9:]
    assert serialized(events) == [serialize_value(e, **COMPACT) for e in events]
