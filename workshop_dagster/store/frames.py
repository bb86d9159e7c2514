"""An asset's frame written into its table, as the IO manager does it: created with the frame's
types (never type NULL), its columns fitted to a frame that adds or first fills one, and rows
inserted by name (a reordered frame cannot shift values between columns). The Dagster side
(which rows a run replaces, the metadata) is `platform/duckdb_tables.py`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .tables import plain as qualified
from .warehouse import add_new_columns, is_lake_connection, registered

if TYPE_CHECKING:
    import duckdb


def create(conn: duckdb.DuckDBPyConnection, table: str, schema: str, frame: pd.DataFrame) -> None:
    with registered(conn, "asset_frame", frame):
        conn.execute(f"create table {qualified(table, schema)} as select * from asset_frame")


def create_empty(
    conn: duckdb.DuckDBPyConnection, table: str, schema: str, frame: pd.DataFrame
) -> None:
    """A table for an empty frame, its columns typed from the frame's (DuckDB would type them
    NULL)."""
    conn.execute(f"create table {qualified(table, schema)} ({_column_ddl(frame)})")


def insert(conn: duckdb.DuckDBPyConnection, table: str, schema: str, frame: pd.DataFrame) -> None:
    with registered(conn, "asset_frame", frame):
        conn.execute(f"insert into {qualified(table, schema)} by name select * from asset_frame")


def fit_columns(
    conn: duckdb.DuckDBPyConnection, table: str, schema: str, frame: pd.DataFrame
) -> None:
    """Before the rows go in (and before any delete: DuckDB 1.5 refuses to commit an ALTER of
    a table the same transaction modified): columns typed NULL or still empty take the frame's
    type, and the frame's new columns are added."""
    _retype_null_columns(conn, table, schema, frame)
    add_new_columns(
        conn, qualified(table, schema), {c: _sql_type(t) for c, t in frame.dtypes.items()}
    )


def typed_nulls(frame: pd.DataFrame) -> pd.DataFrame:
    """All-null object columns as strings: DuckDB would create them with type NULL, and the
    first later cycle with a value there (an abstention's reason, say) could not be inserted."""
    empty = [
        col
        for col, dtype in frame.dtypes.items()
        if dtype == object and frame[col].isna().all()  # noqa: E721 - numpy object dtype
    ]
    if not empty:
        return frame
    return frame.astype({col: "string" for col in empty})


def _retype_null_columns(conn, table: str, schema: str, frame: pd.DataFrame) -> None:
    """Give the frame's type to columns a table was created with as type NULL (by an earlier
    version), or with another type while they hold no value yet (VARCHAR from an empty frame of
    untyped columns, an offline run's empty `llm_calls`): `sum(cost_usd)` must work whichever
    run wrote first."""
    name = qualified(table, schema)
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    for col, data_type in rows:
        if col not in frame.columns:
            continue
        wanted = _sql_type(frame[col].dtype)
        untyped = data_type in ("NULL", '"NULL"')
        # Another type while the column holds no value: VARCHAR from an empty frame, or INTEGER
        # from a bare `null` (DuckDB 1.5's type for it; 2.0 made it NULL).
        unused = not untyped and data_type != wanted
        if unused:
            (values,) = conn.execute(f'select count("{col}") from {name}').fetchone()
            unused = values == 0
        if untyped or unused:
            if is_lake_connection(conn):
                # A lake changes a column's type only to a wider one; this one holds no value,
                # so it is made again with the frame's type.
                conn.execute(f'alter table {name} drop column "{col}"')
                conn.execute(f'alter table {name} add column "{col}" {wanted}')
            else:
                conn.execute(f'alter table {name} alter column "{col}" type {wanted}')


def _sql_type(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "TIMESTAMP_NS"
    return "VARCHAR"


def _column_ddl(frame: pd.DataFrame) -> str:
    return ", ".join(f'"{col}" {_sql_type(dtype)}' for col, dtype in frame.dtypes.items())
