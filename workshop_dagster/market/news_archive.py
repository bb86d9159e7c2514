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

from ..store import news_archive as table
from .news import NEWS_COLUMNS, TIME_COLUMNS, canonical_url, empty_news

WINDOW = pd.Timedelta(hours=24)  # how far back a cycle reads
MAX_ITEMS = 20  # the newest items a cycle reads within the window
MAX_PER_FEED = 10  # of them, at most this many from one feed while others have items
MAX_PER_TAG = 2  # and beyond them, the newest of each ticker (and of MACRO) in the window


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
    table.ensure(conn)
    if items.empty:
        return 0
    new = items.sort_values(["visible_from", "item_id"]).drop_duplicates("item_id")
    # (a superset: `_keys` compares the canonical URLs, queries that name a story kept)
    held = table.held_like(conn, new)
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
    table.append(conn, fresh[list(NEWS_COLUMNS)])
    return len(fresh)


def visible(conn: duckdb.DuckDBPyConnection, cycle_times: Sequence) -> pd.DataFrame:
    """Each cycle's view of the archive: cycle_ts, item_id, visible_from, published_at of the
    newest `MAX_ITEMS` items visible at the cycle and within `WINDOW` before it, at most
    `MAX_PER_FEED` of them from one feed unless no other feed has items to fill the view (a
    flooding feed cannot crowd the others out); and beyond them the newest `MAX_PER_TAG` of
    each ticker and of MACRO, so a day of 250 headlines still shows every name that had one
    (a day with fewer than `MAX_ITEMS` items shows them all, as before)."""
    return table.visible(
        conn,
        cycle_times,
        window_s=int(WINDOW.total_seconds()),
        max_items=MAX_ITEMS,
        max_per_feed=MAX_PER_FEED,
        max_per_tag=MAX_PER_TAG,
    )


def items(conn: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> pd.DataFrame:
    """The archive's rows for these ids (a read: works on a read-only connection)."""
    out = table.rows(conn, item_ids) if len(item_ids) else None
    if out is None:
        return empty_news()
    for col in TIME_COLUMNS:
        out[col] = out[col].astype("datetime64[ns]")
    return out[list(NEWS_COLUMNS)]
