"""A SQL model's table written in the warehouse: the whole table, or a window of cycles replaced
in the caller's transaction; its columns held to the model's; its schema.yml tests counted on
what was written. The asset around it (`lib/sql_models.py`) says which window and reports it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .sql_project import PARTITION_COLUMN, SqlModel, test_queries
from .tables import plain
from .warehouse import add_new_columns, table_exists

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# Columns a release added to a table the models read: a warehouse an earlier release wrote gets
# them (empty) before a model reads it, as it would on its next per-cycle write.
LATER_COLUMNS = {"prediction_scores": {"conviction": "DOUBLE"}}


class MissingInput(LookupError):
    """A model reads a table that is not made yet."""

    def __init__(self, ref: str, schema: str) -> None:
        super().__init__(f"{schema}.{ref}")
        self.ref, self.schema = ref, schema


@dataclass(frozen=True)
class Written:
    select: str  # the SQL the model ran
    rows: int  # rows of the table (or of the window) after the write
    failures: dict[str, int]  # test name -> failing rows
    head: pd.DataFrame  # the first rows (of the latest cycle), for the preview


def write(
    conn: duckdb.DuckDBPyConnection,
    model: SqlModel,
    schema: str,
    window: tuple[pd.Timestamp, pd.Timestamp] | None,
    preview_rows: int,
    guard: Callable[[Mapping[str, str]], None] = lambda _: None,
) -> Written:
    """Run `model` into its table in `schema` (for the `window` of cycles, or whole); `guard`
    is shown {table: the new rows' relation} before a window is replaced (a sealed cycle's
    rows may only be rewritten with what they hold)."""
    select = model.render(window, schema=schema)
    table = plain(model.name, schema)
    for ref in model.refs:
        if not table_exists(conn, ref, schema):
            raise MissingInput(ref, schema)
        if ref in LATER_COLUMNS:
            add_new_columns(conn, plain(ref, schema), LATER_COLUMNS[ref])
    if window is None:
        conn.execute(f"create or replace table {table} as {select}")
        relation = table
    else:
        start, end = (t.strftime("%Y-%m-%d %H:%M:%S") for t in window)
        where = (
            f"{PARTITION_COLUMN} >= TIMESTAMP '{start}' and {PARTITION_COLUMN} < TIMESTAMP '{end}'"
        )
        conn.execute(f"create table if not exists {table} as select * from ({select}) limit 0")
        _check_columns(conn, table, select, model.name)
        guard({table: f"({select})"})
        conn.execute(f"delete from {table} where {where}")
        conn.execute(f"insert into {table} by name {select}")
        relation = f"(select * from {table} where {where})"
    rows = conn.execute(f"select count(*) from {relation}").fetchone()[0]
    failures = {name: conn.execute(q).fetchone()[0] for name, q in test_queries(model, relation)}
    last = (
        f"where {PARTITION_COLUMN} = (select max({PARTITION_COLUMN}) from {relation})"
        if window is not None
        else ""
    )
    head = conn.execute(f"select * from {relation} {last} limit {int(preview_rows)}").fetchdf()
    return Written(select, int(rows), failures, head)


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
    add_new_columns(conn, table, {r[0]: r[1] for r in selected})
