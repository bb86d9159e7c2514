"""The project's event log (workshop_dagster/event_log.py) against Dagster's own SQLite event log:
the same single-run backfill leaves the same records, batched or not, and a failed batch leaves no
duplicates."""

import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.ref import InstanceRef

from tests.conftest import PROJECT
from workshop_dagster.platform.event_log import BatchedSqliteEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2025-01-31")
RANGE = {
    "dagster/asset_partition_range_start": "2025-01-02",
    "dagster/asset_partition_range_end": "2025-01-29",
}
N_DAYS = 28


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def quotes(context: dg.AssetExecutionContext) -> dict:
    return {key: len(key) for key in context.partition_keys}


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def signals(context: dg.AssetExecutionContext, quotes: dict) -> dict:
    context.add_output_metadata({"cycles": len(context.partition_keys)})
    return quotes


def instance_in(home: Path, project_event_log: bool, monkeypatch) -> dg.DagsterInstance:
    """An instance from the project's dagster.yaml, or from it minus the project's event log."""
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    assert config["event_log_storage"]["class"] == BatchedSqliteEventLogStorage.__name__
    if not project_event_log:
        del config["event_log_storage"]
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def backfill(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [quotes, signals],
        instance=instance,
        tags=RANGE,
        resources={"io_manager": dg.mem_io_manager},
    )
    assert result.success
    return result


def records(home: Path, run_id: str) -> dict[str, list]:
    """What the instance wrote, without what differs between two runs (ids, times, run id)."""
    index = sqlite3.connect(home / "history" / "runs" / "index.db")
    run = sqlite3.connect(home / "history" / "runs" / f"{run_id}.db")
    events = (
        "select dagster_event_type, asset_key, partition, step_key from event_logs "
        "where dagster_event_type is not null order by id"
    )
    found = {
        "index events": index.execute(events).fetchall(),
        "run events": run.execute(events).fetchall(),
        # Data versions hash the run's id (the default code version), so only their presence
        # and the event they point at are compared.
        "asset tags": index.execute(
            "select t.asset_key, t.key, length(t.value), e.partition from asset_event_tags t "
            "join event_logs e on e.id = t.event_id order by t.id"
        ).fetchall(),
        "asset keys": index.execute(
            "select asset_key, last_run_id = ? from asset_keys order by asset_key", (run_id,)
        ).fetchall(),
    }
    index.close()
    run.close()
    return found


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


@pytest.fixture
def stock(tmp_path, monkeypatch):
    home = tmp_path / "stock"
    with instance_in(home, project_event_log=False, monkeypatch=monkeypatch) as instance:
        run_id = backfill(instance).run_id
        yield records(home, run_id), views(instance)


def test_a_batch_is_written_at_once_and_leaves_what_dagster_leaves(tmp_path, stock, monkeypatch):
    one_at_a_time = []
    original = BatchedSqliteEventLogStorage.store_event

    def counted(self, event):
        one_at_a_time.append(event.dagster_event_type)
        original(self, event)

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "store_event", counted)
    home = tmp_path / "project"
    with instance_in(home, project_event_log=True, monkeypatch=monkeypatch) as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        run_id = backfill(instance).run_id
        assert (records(home, run_id), views(instance)) == stock
    # Every materialization arrived in a batch: none was stored on its own.
    assert dg.DagsterEventType.ASSET_MATERIALIZATION not in one_at_a_time
    assert len(stock[0]["asset tags"]) == 2 * N_DAYS
    assert stock[1]["signals"][0] == sorted(DAYS.get_partition_keys())[1 : 1 + N_DAYS]


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
    with instance_in(home, project_event_log=True, monkeypatch=monkeypatch) as instance:
        run_id = backfill(instance).run_id
        assert (records(home, run_id), views(instance)) == stock
    assert failures == [N_DAYS]


def test_an_instance_that_switches_to_it_keeps_its_history(tmp_path, stock, monkeypatch):
    home = tmp_path / "stock"  # the stock fixture's instance, now with the project's dagster.yaml
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        assert views(instance) == stock[1]


def test_the_event_log_lives_where_dagsters_default_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    storage = BatchedSqliteEventLogStorage()
    assert Path(storage._base_dir) == tmp_path / "history" / "runs"
    assert BatchedSqliteEventLogStorage(str(tmp_path / "elsewhere"))._base_dir.endswith("elsewhere")
    # No DAGSTER_HOME (`dagster dev` in the project folder: a temporary instance configured by
    # the project's dagster.yaml): the event log lives in the folder the instance was made in.
    monkeypatch.delenv("DAGSTER_HOME")
    folder = tmp_path / "temporary"
    folder.mkdir()
    from dagster._core.instance.ref import InstanceRef

    ref = InstanceRef.from_dir(str(folder), config_dir=str(PROJECT))
    with dg.DagsterInstance.from_ref(ref) as inst:
        storage = inst.event_log_storage
        assert isinstance(storage, BatchedSqliteEventLogStorage)
        assert Path(storage._base_dir) == folder / "history" / "runs"


def test_the_demo_uses_the_projects_instance_when_dagster_home_is_not_set(tmp_path, monkeypatch):
    from workshop_dagster.job_runs import project_instance

    (tmp_path / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", "")  # so the test's end restores it, whatever it was
    monkeypatch.delenv("DAGSTER_HOME")
    with project_instance(tmp_path) as instance:
        assert Path(instance.root_directory) == tmp_path / ".dagster_home"
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
    # The instance file is the user's once made: never overwritten.
    mine = tmp_path / ".dagster_home" / "dagster.yaml"
    mine.write_text(mine.read_text() + "\n# my PostgreSQL block would be here\n")
    monkeypatch.delenv("DAGSTER_HOME")
    with project_instance(tmp_path):
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
