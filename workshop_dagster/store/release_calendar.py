"""The `release_calendar` table: one row a scheduled release, append-only (what a release is,
when it is known and what a cycle shows are `market/release_calendar.py`'s)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from .records import cycle_times_frame
from .warehouse import create_table, insert_missing, registered, table_exists

DDL = """
create table if not exists release_calendar (
    event_id varchar primary key,
    event_at timestamp_ns not null,
    known_from timestamp_ns not null,
    source varchar not null,
    name varchar not null,
    title varchar not null,
    url varchar not null
)
"""


def append_new(conn: duckdb.DuckDBPyConnection, events: pd.DataFrame) -> int:
    """Append the releases of `events` the table does not hold (by `event_id`); returns how
    many were added."""
    create_table(conn, DDL)
    if events.empty:
        return 0
    return insert_missing(conn, "release_calendar", events, "event_id")


def around(
    conn: duckdb.DuckDBPyConnection, cycle_times: Sequence, *, window_s: int, ahead_s: int
) -> pd.DataFrame | None:
    """Each cycle's releases known by it, out in the `window_s` before it or due in the
    `ahead_s` after it: cycle_ts, event_at, name, title, source, status ('out' or 'coming').
    None where the table was never made (a read: works on a read-only connection)."""
    if not table_exists(conn, "release_calendar"):
        return None
    cycles = cycle_times_frame(cycle_times)
    with registered(conn, "calendar_cycles", cycles):
        return conn.execute(
            f"""
            select c.cycle_ts, r.event_at, r.name, r.title, r.source,
                   case when r.event_at <= c.cycle_ts then 'out' else 'coming' end as status
            from calendar_cycles c
            join release_calendar r
              on r.known_from <= c.cycle_ts
             and r.event_at > c.cycle_ts - interval '{int(window_s)} seconds'
             and r.event_at <= c.cycle_ts + interval '{int(ahead_s)} seconds'
            order by c.cycle_ts, r.event_at, r.title
            """
        ).fetchdf()
