"""The `news_archive` table: every news item ever fetched, once, with the time it became
visible (the rules of what is kept and what a cycle reads are `market/news_archive.py`'s)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from .records import cycle_times_frame
from .warehouse import create_table, registered, table_exists

DDL = """
create table if not exists news_archive (
    item_id varchar primary key,
    published_at timestamp_ns not null,
    fetched_at timestamp_ns not null,
    visible_from timestamp_ns not null,
    source varchar not null,
    feed varchar not null,
    title varchar not null,
    summary varchar not null,
    url varchar not null,
    tickers varchar not null
)
"""


def ensure(conn: duckdb.DuckDBPyConnection) -> None:
    create_table(conn, DDL)


def held_like(conn: duckdb.DuckDBPyConnection, incoming: pd.DataFrame) -> pd.DataFrame:
    """item_id, url, title, published_at of the stored items that may be one of `incoming`'s
    stories: the same id, the same title (any case), or the same URL without its query (a
    superset of what the archive's rule calls one story)."""
    ensure(conn)
    with registered(conn, "incoming_news", incoming[["item_id", "title", "url"]]):
        return conn.execute(
            "select item_id, url, title, published_at from news_archive where item_id in "
            "(select item_id from incoming_news) or title in (select title from incoming_news) "
            "or lower(title) in (select lower(title) from incoming_news) "
            "or (url <> '' and split_part(url, '?', 1) in "
            "(select split_part(url, '?', 1) from incoming_news))"
        ).fetchdf()


def append(conn: duckdb.DuckDBPyConnection, fresh: pd.DataFrame) -> None:
    """Insert items the caller found new (by name: `fresh` has the table's columns)."""
    ensure(conn)
    with registered(conn, "fresh_news", fresh):
        conn.execute("insert into news_archive by name select * from fresh_news").fetchall()


def visible(
    conn: duckdb.DuckDBPyConnection,
    cycle_times: Sequence,
    *,
    window_s: int,
    max_items: int,
    max_per_feed: int,
    max_per_tag: int,
) -> pd.DataFrame:
    """Each cycle's view: cycle_ts, item_id, visible_from, published_at of the newest
    `max_items` items visible at the cycle and within `window_s` before it (at most
    `max_per_feed` of one feed while others have items), and beyond them the newest
    `max_per_tag` of each ticker tag."""
    ensure(conn)
    cycles = cycle_times_frame(cycle_times)
    with registered(conn, "view_cycles", cycles):
        return conn.execute(
            f"""
            with in_window as (
                select
                    c.cycle_ts, a.item_id, a.visible_from, a.published_at, a.tickers,
                    row_number() over (
                        partition by c.cycle_ts, a.feed order by a.visible_from desc, a.item_id
                    ) as rank_in_feed
                from view_cycles c
                join news_archive a
                  on a.visible_from <= c.cycle_ts
                 and a.visible_from > c.cycle_ts - interval '{int(window_s)} seconds'
            ),
            newest as (
                select cycle_ts, item_id, visible_from, published_at
                from in_window
                qualify row_number() over (
                    partition by cycle_ts
                    order by rank_in_feed > {int(max_per_feed)}, visible_from desc, item_id
                ) <= {int(max_items)}
            ),
            tagged as (
                select cycle_ts, item_id, visible_from, published_at,
                       unnest(string_split(tickers, ',')) as tag
                from in_window
                where tickers <> ''
            ),
            newest_of_each_tag as (
                select cycle_ts, item_id, visible_from, published_at
                from tagged
                qualify row_number() over (
                    partition by cycle_ts, tag order by visible_from desc, item_id
                ) <= {int(max_per_tag)}
            )
            select * from newest
            union
            select * from newest_of_each_tag
            order by cycle_ts, visible_from, item_id
            """
        ).fetchdf()


def rows(conn: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> pd.DataFrame | None:
    """The stored rows for these ids, or None where the archive was never made (a read: works
    on a read-only connection)."""
    if not table_exists(conn, "news_archive"):
        return None
    with registered(conn, "wanted_news", pd.DataFrame({"item_id": sorted(set(item_ids))})):
        return conn.execute(
            "select a.* from news_archive a join wanted_news w using (item_id)"
        ).fetchdf()
