"""A DuckDB file warehouse copied into an empty DuckLake, every table of every schema (the
loop's and each variant's), in one transaction: the lake holds all of it or none, and every
table's rows are counted on both sides (`make copy-to-lake`, commands/copy_to_lake.py, then
verifies the lake's sealed records).

A lake that already holds a table is refused (a copy never merges two records), and the file is
only read, under the file lock that writers take, so no run changes it mid-copy.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock

from . import lake, warehouse


class CopyRefused(RuntimeError):
    """The copy cannot start: no lake configured, no file, or a lake that is not empty."""


def copy_file_into_lake(file: Path, location: str) -> dict[str, int]:
    """Copy every table of `file` into the lake at `location`; returns rows per table."""
    import duckdb

    if not lake.is_lake(location):
        raise CopyRefused(
            f"WORKSHOP_DB is {location!r}, not a lake: set it to {lake.PREFIX}<conninfo> and "
            "WORKSHOP_LAKE_DATA to the lake's folder (docs/operations.md, 'A shared warehouse')"
        )
    if not file.is_file():
        raise CopyRefused(f"no warehouse file at {file}")
    conn = duckdb.connect()
    try:
        lake.attach(conn, location)
        with FileLock(str(file) + ".lock", timeout=warehouse.LOCK_TIMEOUT_S):
            try:
                conn.execute(f"ATTACH '{file}' AS copy_source (READ_ONLY)")
            except duckdb.Error as exc:
                raise warehouse.WarehouseUnreadable(file, exc) from None
            tables = conn.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = 'copy_source' and table_type = 'BASE TABLE' "
                "order by 1, 2"
            ).fetchall()
            held = conn.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_catalog = ?",
                [lake.ALIAS],
            ).fetchall()
            if held:
                raise CopyRefused(
                    f"the lake already holds {len(held)} table(s) ({held[0][0]}, ...): a copy "
                    "goes into an empty lake only, never merging two records"
                )
            conn.execute("BEGIN TRANSACTION")
            for schema, table in tables:
                conn.execute(f'create schema if not exists {lake.ALIAS}."{schema}"')
                conn.execute(
                    f'create table {lake.ALIAS}."{schema}"."{table}" as '
                    f'select * from copy_source."{schema}"."{table}"'
                )
            conn.execute("COMMIT")
            counts = {}
            for schema, table in tables:
                name = f'"{schema}"."{table}"'
                (n_file,) = conn.execute(f"select count(*) from copy_source.{name}").fetchone()
                (n_lake,) = conn.execute(f"select count(*) from {lake.ALIAS}.{name}").fetchone()
                if n_file != n_lake:
                    raise RuntimeError(
                        f"{schema}.{table}: {n_file} rows in the file, {n_lake} in the lake"
                    )
                counts[f"{schema}.{table}"] = n_lake
            return counts
    finally:
        conn.close()
