"""The warehouse IO manager on a real DuckDB file: columns that start out all-null."""

import dagster as dg
import duckdb
import pandas as pd

from workshop_dagster.io_manager import WarehouseIOManager

PARTS = dg.StaticPartitionsDefinition(["a", "b"])
ROWS = {"a": None, "b": "no edge in risk-off"}


@dg.asset(partitions_def=PARTS, metadata={"partition_expr": "part"})
def opinions(context: dg.AssetExecutionContext) -> pd.DataFrame:
    key = context.partition_key
    return pd.DataFrame({"part": [key], "abstain_reason": [ROWS[key]]})


def _materialize(db: str, key: str) -> None:
    io = WarehouseIOManager(database=db, schema="main")
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
