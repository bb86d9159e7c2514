"""The `record_head` table, in each variant's schema: the one row naming the chain's last seal
(what a head is and how it is checked are `predictions/record_head.py`'s)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .tables import qualified
from .warehouse import table_exists

if TYPE_CHECKING:
    import duckdb

DDL = """
create table if not exists {table} (
    seq bigint not null,
    seal varchar not null,
    cycle_key varchar not null,
    key_id varchar,
    signature varchar
)
"""


def replace(
    conn: duckdb.DuckDBPyConnection,
    schema: str,
    row: tuple[int, str, str, str | None, str | None],
) -> None:
    """The head (seq, seal, cycle_key, key_id, signature) replaced, in the caller's transaction
    (the one that appended the seals)."""
    table = qualified("record_head", schema)
    conn.execute(DDL.format(table=table)).fetchall()
    conn.execute(f"delete from {table}").fetchall()
    conn.execute(f"insert into {table} values (?, ?, ?, ?, ?)", list(row)).fetchall()


def rows(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> list[tuple] | None:
    """Every row of the head table (one, unless edited by hand); None where it was never made."""
    if not table_exists(conn, "record_head", schema):
        return None
    table = qualified("record_head", schema)
    return conn.execute(f"select seq, seal, cycle_key, key_id, signature from {table}").fetchall()
