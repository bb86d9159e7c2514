"""`news_archive`: every news item ever fetched, stored once, with the time it became visible.

Feeds serve only their latest items and no history, so what a live cycle read would be lost to
any replay. Each run appends the items it fetched that the archive does not hold (by id, and by
URL or title across feeds: the first seen is kept), and a cycle's `news_items` are the archive's
items visible at its time: a backfill or a re-run of a past cycle reads exactly what was there,
never an item fetched later. The table is append-only; an item's `visible_from` is fixed when it
is first stored (a later fetch of the same story cannot move it earlier).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import pandas as pd

from ..store import warehouse
from ..store.warehouse import create_table
from .news import NEWS_COLUMNS, TIME_COLUMNS, canonical_url, empty_news

WINDOW = pd.Timedelta(hours=24)  # how far back a cycle reads
MAX_ITEMS = 20  # the newest items a cycle reads within the window
MAX_PER_FEED = 10  # of them, at most this many from one feed while others have items
MAX_PER_TAG = 2  # and beyond them, the newest of each ticker (and of MACRO) in the window

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


def _keys(url: str, title: str, published) -> set[str]:
    """What makes two feeds' items one story: the same URL (without its query), or the same
    title (case and punctuation aside) published the same day (EDGAR titles every annual
    report alike)."""
    words = " ".join(re.sub(r"\W+", " ", title.lower()).split())
    keys = {f"title:{words}|{pd.Timestamp(published):%Y-%m-%d}"}
    plain = canonical_url(url).lower()
    return keys | ({"url:" + plain} if plain else set())


def store(conn: duckdb.DuckDBPyConnection, items: pd.DataFrame) -> int:
    """Append the items the archive does not hold yet (by id, URL or title: the first seen is
    kept, with the tickers of its duplicates in the same fetch); returns how many were added."""
    create_table(conn, DDL)
    if items.empty:
        return 0
    new = items.sort_values(["visible_from", "item_id"]).drop_duplicates("item_id")
    conn.register("incoming_news", new)
    try:
        held = conn.execute(
            "select item_id, url, title, published_at from news_archive where item_id in "
            "(select item_id from incoming_news) or title in (select title from incoming_news) "
            "or lower(title) in (select lower(title) from incoming_news) "
            "or (url <> '' and split_part(url, '?', 1) in "
            "(select split_part(url, '?', 1) from incoming_news))"
            # (a superset: `_keys` compares the canonical URLs, queries that name a story kept)
        ).fetchdf()
    finally:
        conn.unregister("incoming_news")
    seen = set(held["item_id"])
    for url, title, published in zip(held["url"], held["title"], held["published_at"], strict=True):
        seen |= _keys(url, title, published)
    keep, kept_by_key, tickers = [], {}, list(new["tickers"])
    for i, row in enumerate(new.itertuples(index=False)):
        keys = _keys(row.url, row.title, row.published_at) | {row.item_id}
        first = next((kept_by_key[k] for k in keys if k in kept_by_key), None)
        if first is not None:  # the same story from another feed of this fetch: merge tags
            merged = set(filter(None, tickers[first].split(","))) | set(
                filter(None, row.tickers.split(","))
            )
            tickers[first] = ",".join(sorted(merged))
        keep.append(not (keys & seen))
        if keep[-1]:
            kept_by_key.update(dict.fromkeys(keys, i))
        seen |= keys
    fresh = new.assign(tickers=tickers)[keep]
    if fresh.empty:
        return 0
    conn.register("fresh_news", fresh[list(NEWS_COLUMNS)])
    try:
        conn.execute("insert into news_archive by name select * from fresh_news").fetchall()
    finally:
        conn.unregister("fresh_news")
    return len(fresh)


def visible(conn: duckdb.DuckDBPyConnection, cycle_times: Sequence) -> pd.DataFrame:
    """Each cycle's view of the archive: cycle_ts, item_id, visible_from, published_at of the
    newest `MAX_ITEMS` items visible at the cycle and within `WINDOW` before it, at most
    `MAX_PER_FEED` of them from one feed unless no other feed has items to fill the view (a
    flooding feed cannot crowd the others out); and beyond them the newest `MAX_PER_TAG` of
    each ticker and of MACRO, so a day of 250 headlines still shows every name that had one
    (a day with fewer than `MAX_ITEMS` items shows them all, as before)."""
    create_table(conn, DDL)
    cycles = pd.DataFrame({"cycle_ts": pd.DatetimeIndex(sorted(set(cycle_times)))})
    cycles["cycle_ts"] = cycles["cycle_ts"].astype("datetime64[ns]")
    conn.register("view_cycles", cycles)
    try:
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
                 and a.visible_from > c.cycle_ts - interval '{int(WINDOW.total_seconds())} seconds'
            ),
            newest as (
                select cycle_ts, item_id, visible_from, published_at
                from in_window
                qualify row_number() over (
                    partition by cycle_ts
                    order by rank_in_feed > {MAX_PER_FEED}, visible_from desc, item_id
                ) <= {MAX_ITEMS}
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
                ) <= {MAX_PER_TAG}
            )
            select * from newest
            union
            select * from newest_of_each_tag
            order by cycle_ts, visible_from, item_id
            """
        ).fetchdf()
    finally:
        conn.unregister("view_cycles")


def items(conn: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> pd.DataFrame:
    """The archive's rows for these ids (a read: works on a read-only connection)."""
    if not len(item_ids) or not warehouse.table_exists(conn, "news_archive"):
        return empty_news()
    ids = pd.DataFrame({"item_id": sorted(set(item_ids))})
    conn.register("wanted_news", ids)
    try:
        out = conn.execute(
            "select a.* from news_archive a join wanted_news w using (item_id)"
        ).fetchdf()
    finally:
        conn.unregister("wanted_news")
    for col in TIME_COLUMNS:
        out[col] = out[col].astype("datetime64[ns]")
    return out[list(NEWS_COLUMNS)]
