"""The sealed chain's tables, in each variant's schema: `record_seals` (one row a seal, appended
only), `record_signing_keys` (the public keys that signed them) and `record_variant` (the one
variant whose calls the record holds). What a seal covers and how a chain is checked are
`predictions/seals.py`'s; this module is every query of these tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .tables import qualified
from .warehouse import add_new_columns, create_table, registered, table_exists

if TYPE_CHECKING:
    import duckdb

DDL = """
create table if not exists {table} (
    seq bigint primary key,
    cycle_key varchar not null,
    kind varchar not null,
    content_hash varchar not null,
    prev_seal varchar not null,
    seal varchar not null,
    content_json varchar not null
)
"""
# Optional signatures (predictions/signing.py): a row's signature of its seal and the id of the
# key that made it; the public keys beside the chain. Added to a chain made before them.
SIGNATURE_COLUMNS = {"signature": "VARCHAR", "key_id": "VARCHAR"}
KEYS_DDL = """
create table if not exists {table} (
    key_id varchar primary key,
    public_pem varchar not null
)
"""


def ensure(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> None:
    seals = qualified("record_seals", schema)
    conn.execute(f"create schema if not exists {schema}").fetchall()
    create_table(conn, DDL.format(table=seals))
    create_table(conn, KEYS_DDL.format(table=qualified("record_signing_keys", schema)))
    add_new_columns(conn, seals, SIGNATURE_COLUMNS)


def has_record(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> bool:
    return table_exists(conn, "record_seals", schema)


def schemas_with_a_record(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Every schema holding a sealed chain (the loop's `main`, each side variant's)."""
    return [
        s
        for (s,) in conn.execute(
            "select distinct table_schema from information_schema.tables "
            "where table_name = 'record_seals' order by 1"
        ).fetchall()
    ]


def public_keys(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> dict[str, str]:
    """key id -> public key PEM of every key that signed a seal (empty before any)."""
    if not table_exists(conn, "record_signing_keys", schema):
        return {}
    table = qualified("record_signing_keys", schema)
    return dict(conn.execute(f"select key_id, public_pem from {table}").fetchall())


def keep_key(conn: duckdb.DuckDBPyConnection, schema: str, kid: str, pem: str) -> None:
    """The public key beside the chain, once (an insert where it is missing: a lake's tables
    have no key for `on conflict`)."""
    table = qualified("record_signing_keys", schema)
    conn.execute(
        f"insert into {table} select ?, ? where not exists "
        f"(select 1 from {table} where key_id = ?)",
        [kid, pem, kid],
    ).fetchall()


def claimed_variant(conn: duckdb.DuckDBPyConnection, schema: str, variant: str) -> str:
    """The variant the record holds the calls of, claimed for `variant` where none is yet (a
    record sealed before variants were stamped is the loop's own, `baseline`)."""
    ensure(conn, schema)
    table = qualified("record_variant", schema)
    conn.execute(f"create table if not exists {table} (variant varchar not null)").fetchall()
    row = conn.execute(f"select variant from {table}").fetchone()
    if row is not None:
        return row[0]
    sealed = conn.execute(f"select count(*) from {qualified('record_seals', schema)}").fetchone()
    held = "baseline" if sealed[0] else variant
    conn.execute(f"insert into {table} values (?)", [held]).fetchall()
    return held


def chain(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> pd.DataFrame:
    """Every row of the chain, in order."""
    return conn.execute(f"select * from {qualified('record_seals', schema)} order by seq").fetchdf()


def latest_of(
    conn: duckdb.DuckDBPyConnection, cycle_keys: Sequence[str], schema: str = "main"
) -> pd.DataFrame:
    """The latest row of each of these cycles (only theirs: a run costs the same however long
    the record)."""
    with registered(conn, "cycles_to_seal", pd.DataFrame({"cycle_key": sorted(cycle_keys)})):
        return conn.execute(
            f"select s.* from {qualified('record_seals', schema)} s "
            "join cycles_to_seal using (cycle_key) "
            "qualify row_number() over (partition by s.cycle_key order by s.seq desc) = 1"
        ).fetchdf()


def tail(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> tuple[int, str, str] | None:
    """(seq, seal, cycle_key) of the chain's last row, or None for an empty chain."""
    row = conn.execute(
        f"select seq, seal, cycle_key from {qualified('record_seals', schema)} "
        "order by seq desc limit 1"
    ).fetchone()
    return (int(row[0]), row[1], row[2]) if row else None


def append(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame, schema: str = "main") -> None:
    """Append new chain rows (by name; the caller's transaction holds the head's update)."""
    with registered(conn, "new_seals", rows):
        conn.execute(
            f"insert into {qualified('record_seals', schema)} by name select * from new_seals"
        ).fetchall()


def sealed_among(
    conn: duckdb.DuckDBPyConnection, keys: Sequence[str], schema: str = "main"
) -> list[str]:
    """The cycles among `keys` sealed in the record of `schema`."""
    if not keys or not table_exists(conn, "record_seals", schema):
        return []
    with registered(conn, "asked_keys", pd.DataFrame({"cycle_key": list(keys)})):
        rows = conn.execute(
            f"select distinct cycle_key from {qualified('record_seals', schema)} "
            "where cycle_key in (select cycle_key from asked_keys) order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def sealed_anywhere(conn: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> list[str]:
    """The cycles among `keys` sealed in any record of the warehouse (the loop's or a
    variant's)."""
    schemas = schemas_with_a_record(conn)
    if not schemas or not keys:
        return []
    union = " union ".join(
        f"select distinct cycle_key from {qualified('record_seals', s)}" for s in schemas
    )
    with registered(conn, "asked_cycle_keys", pd.DataFrame({"cycle_key": list(keys)})):
        rows = conn.execute(
            f"select cycle_key from asked_cycle_keys where cycle_key in ({union}) order by 1"
        ).fetchall()
    return [r[0] for r in rows]
