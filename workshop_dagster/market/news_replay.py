"""The `csv:` source's news: recorded headlines and the official release calendar.

Layout (that of `shared/data/market/news/`, SOURCES.md section 7), beside `daily/`:
    PATH/news/headlines.csv.gz   published_at,source,title,url,tickers,origin
    PATH/news/events.csv.gz      the same columns: FOMC statements, CPI, jobs reports
`published_at` is ISO 8601 with its offset (New York time); `tickers` is `;`-separated, with
`MACRO` for the economy. The replay rule is the live one: a headline is public from its
publication, never before (`news_archive.visible`). A release is public twice: its date and time
from the agencies' calendars, published long before (`release_calendar`), and its happening.
Either file may be absent (a folder without news replays with an empty archive, and the cycles
say so); a file that is there and cannot be read is an error naming its line.
"""

from __future__ import annotations

import hashlib
import html
from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import calendar
from .csv_files import instants_in_new_york, listed_lines, read_table
from .errors import MarketDataError
from .news import empty_news, finish, tag_tickers
from .universe import TICKERS

COLUMNS = ("published_at", "source", "title", "url", "tickers")
HEADLINES, EVENTS = "headlines.csv.gz", "events.csv.gz"
MACRO = "MACRO"  # the tag of an item about the economy, not a ticker


def _file(root: Path, name: str) -> Path | None:
    """news/<name> or its uncompressed twin (news/headlines.csv), or None."""
    for candidate in (root / "news" / name, root / "news" / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _times(frame: pd.DataFrame, path: str) -> pd.Series:
    """`published_at` as naive New York times (`csv_files.instants_in_new_york`: an offset is
    applied, a time without one is read as New York time, SOURCES.md's Financial Modeling Prep
    rows); one that is not a time is an error naming its lines."""
    out = instants_in_new_york(frame["published_at"].fillna(""), calendar.NY)
    bad = out.isna()
    if bad.any():
        raise MarketDataError(
            f"{path}: published_at is not an ISO 8601 time (without an offset, a New York time "
            f"outside the hour the clocks go back) on {listed_lines(frame[bad], 'published_at')}"
        )
    return out.astype("datetime64[ns]")


def _tags(title: str, given: str) -> str:
    """The universe's tickers the row names or its title uses, and MACRO where tagged."""
    named = {t.strip().upper() for t in str(given or "").split(";") if t.strip()}
    found = tag_tickers(title, named & set(TICKERS))
    return ",".join(filter(None, [found, MACRO if MACRO in named else ""]))


@lru_cache(maxsize=8)
def _read(path: str, mtime: float, feed_prefix: str) -> pd.DataFrame:
    """One news file as archive rows (`news.finish`): entities unescaped ("&#8217;" is "’"),
    each text cell one line; a row without a title is dropped, a bad time is an error."""
    try:
        frame = read_table(path)
    except (OSError, EOFError) as exc:  # a truncated or non-gzip .gz
        raise MarketDataError(
            f"{path}: not a readable news CSV ({type(exc).__name__}: {exc})"
        ) from None
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise MarketDataError(f"{path}: missing columns {sorted(missing)} (expected {COLUMNS})")
    frame = frame.fillna({c: "" for c in COLUMNS})
    frame["title"] = frame["title"].map(lambda t: " ".join(html.unescape(t).split()))
    frame = frame[frame["title"] != ""]
    published = _times(frame, path)
    source = frame["source"].map(lambda s: " ".join(html.unescape(s).split()) or "unknown")
    out = pd.DataFrame(
        {
            "published_at": published,
            # A recorded item was public at its publication: the archive sees it from then.
            "fetched_at": published,
            "source": source,
            "feed": feed_prefix + source,
            "title": frame["title"],
            "summary": "",
            "url": frame["url"].str.strip(),
            "tickers": [_tags(t, g) for t, g in zip(frame["title"], frame["tickers"], strict=True)],
        }
    )
    out["item_id"] = [
        hashlib.sha256(f"{p:%Y-%m-%d %H:%M:%S}|{t}|{u}".encode()).hexdigest()[:24]
        for p, t, u in zip(out["published_at"], out["title"], out["url"], strict=True)
    ]
    out = out.drop_duplicates("item_id")
    return finish(out) if len(out) else empty_news()


def headlines(root: Path, start, end) -> pd.DataFrame:
    """The folder's headlines published in [start, end] (naive New York times)."""
    path = _file(root, HEADLINES)
    if path is None:
        return empty_news()
    rows = _read(str(path), path.stat().st_mtime, "csv:")
    mask = rows["published_at"].between(pd.Timestamp(start), pd.Timestamp(end))
    return rows[mask].reset_index(drop=True)


def releases(root: Path) -> pd.DataFrame:
    """The folder's release calendar (all of it: the dates were public long before), as
    `release_calendar` rows; empty when the folder has no events file."""
    from .release_calendar import calendar_rows, empty_calendar

    path = _file(root, EVENTS)
    if path is None:
        return empty_calendar()
    rows = _read(str(path), path.stat().st_mtime, "calendar:")
    return calendar_rows(rows[["published_at", "source", "title", "url"]])
