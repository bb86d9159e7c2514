"""The warehouse IO manager on a real DuckDB file: columns that start out all-null."""

import dagster as dg
import duckdb
import pandas as pd
import pytest

from workshop_dagster.platform.io_manager import warehouse_io_manager

# Writes DuckDB files of its own (the IO manager's frame handling; the lake's is test_lake.py).
pytestmark = pytest.mark.file_warehouse

PARTS = dg.StaticPartitionsDefinition(["a", "b"])
ROWS = {"a": None, "b": "no edge in risk-off"}


@dg.asset(partitions_def=PARTS, metadata={"partition_expr": "part"})
def opinions(context: dg.AssetExecutionContext) -> pd.DataFrame:
    key = context.partition_key
    return pd.DataFrame({"part": [key], "abstain_reason": [ROWS[key]]})


def _materialize(db: str, key: str) -> None:
    io = warehouse_io_manager(db)
    result = dg.materialize([opinions], partition_key=key, resources={"io_manager": io})
    assert result.success


def test_a_column_null_in_the_first_partition_takes_values_later(tmp_path):
    db = str(tmp_path / "w.duckdb")
    _materialize(db, "a")
    _materialize(db, "b")
    with duckdb.connect(db, read_only=True) as conn:
        rows = conn.execute("select part, abstain_reason from opinions order by 1").fetchall()
        kind = conn.execute(
            "select data_type from information_schema.columns where column_name = 'abstain_reason'"
        ).fetchone()[0]
    assert rows == [("a", None), ("b", "no edge in risk-off")] and kind == "VARCHAR"


def test_a_table_created_with_a_null_typed_column_is_repaired(tmp_path):
    db = str(tmp_path / "w.duckdb")
    with duckdb.connect(db) as conn:
        conn.execute("create table opinions as select 'a' as part, null as abstain_reason")
    _materialize(db, "b")
    with duckdb.connect(db, read_only=True) as conn:
        rows = conn.execute("select part, abstain_reason from opinions order by 1").fetchall()
    assert rows == [("a", None), ("b", "no edge in risk-off")]


LONG = "I need to be honest about where I am. " * 200


@dg.asset(partitions_def=PARTS, metadata={"partition_expr": "part"})
def memos(context: dg.AssetExecutionContext) -> pd.DataFrame:
    return pd.DataFrame({"part": [context.partition_key], "body": [LONG], "n": [7]})


def test_the_preview_cuts_long_cells_so_each_event_stays_small(tmp_path):
    """Every cycle's materialization event carries the preview: a full memo in it made a
    year's event log a gigabyte."""
    io = warehouse_io_manager(str(tmp_path / "w.duckdb"))
    result = dg.materialize([memos], partition_key="a", resources={"io_manager": io})
    (event,) = result.get_asset_materialization_events()
    text = event.materialization.metadata["preview"].value
    assert len(LONG) > 7000 and len(text) < 400
    assert "I need to be honest about where I am." in text and "…" in text
    row = text.splitlines()[2]
    assert row.startswith("| a ") and row.endswith("|   7 |")  # other cells are whole


@dg.asset(
    partitions_def=PARTS,
    metadata={"partition_expr": "part"},
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def memo_range(context: dg.AssetExecutionContext) -> pd.DataFrame:
    keys = context.partition_keys
    return pd.DataFrame(
        {"part": keys, "body": [f"memo of {k}" for k in keys], "n": [7] * len(keys)}
    )


def test_a_range_run_puts_its_metadata_on_its_last_cycle_only(tmp_path):
    """A range run records one materialization per cycle, and Dagster copies an output's
    metadata into each: the preview (that cycle's rows), the run's counts, the SQL and the table
    name go on the last cycle's event; the others carry none (a year of cycles stored each
    ~3,750 times)."""
    io = warehouse_io_manager(str(tmp_path / "w.duckdb"))
    result = dg.materialize(
        [memo_range],
        resources={"io_manager": io},
        tags={
            "dagster/asset_partition_range_start": "a",
            "dagster/asset_partition_range_end": "b",
        },
    )
    events = {
        e.materialization.partition: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert set(events) == {"a", "b"}
    assert "preview" not in events["a"]
    assert "memo of b" in events["b"]["preview"].value
    assert "memo of a" not in events["b"]["preview"].value
    assert dict(events["a"]) == {}
    assert events["b"]["rows_in_run"].value == events["b"]["cycles_in_run"].value == 2
    assert "memo_range" in events["b"]["Query"].value
    assert events["b"]["dagster/table_name"].value.endswith("main.memo_range")
