"""`context_records`: the record each context showed (track record, calibration, rules), stored
once under the hash of its JSON (`cycle_context.record_document`).

The cycles of a record point all see the same record; `mind_context.context_json` names it by
`record_id`. The table is append-only and content-addressed: a record is never changed or
deleted (a re-run that shows the same record adds nothing; one that shows another adds that
one), so no cycle's stored context can change under it. A run that fails after its records are
written leaves rows no context names, which are harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from .warehouse import create_table, insert_missing, registered, table_exists

DDL = """
create table if not exists context_records (
    record_id varchar primary key, record_json varchar not null
)
"""


def store(conn: duckdb.DuckDBPyConnection, records: Mapping[str, str]) -> int:
    """Add the records not stored yet; returns how many were new."""
    create_table(conn, DDL)
    if not records:
        return 0
    frame = pd.DataFrame({"record_id": list(records), "record_json": list(records.values())})
    return insert_missing(conn, "context_records", frame, "record_id")


def read(conn: duckdb.DuckDBPyConnection, record_ids: Sequence[str]) -> dict[str, str]:
    """record_id -> record_json of the stored records among `record_ids` (a read: works on a
    read-only connection, and before the table is made)."""
    if not record_ids or not table_exists(conn, "context_records"):
        return {}
    with registered(conn, "wanted_records", pd.DataFrame({"record_id": sorted(set(record_ids))})):
        return dict(
            conn.execute(
                "select record_id, record_json from context_records "
                "join wanted_records using (record_id)"
            ).fetchall()
        )
