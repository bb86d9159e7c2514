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


def _times(text: pd.Series, lines: pd.Series, path: str) -> pd.Series:
    """ISO 8601 times with their offsets as naive New York times; a time without an offset is
    read as New York time (SOURCES.md: Financial Modeling Prep's), one that is not a time is
    an error naming its lines."""
    text = text.fillna("").str.strip()
    aware = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if aware.any():
        parsed = pd.to_datetime(text[aware], utc=True, errors="coerce", format="ISO8601")
        out[aware] = parsed.dt.tz_convert("America/New_York").dt.tz_localize(None)
    if (~aware).any():
        out[~aware] = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601")
    bad = out.isna()
    if bad.any():
        listed = ", ".join(
            f"line {n} ({v!r})" for n, v in zip(lines[bad].head(5), text[bad].head(5), strict=True)
        )
        more = f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else ""
        raise MarketDataError(f"{path}: published_at is not an ISO 8601 time on {listed}{more}")
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
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise MarketDataError(f"{path}: not a readable news CSV ({exc})".strip()) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise MarketDataError(f"{path}: missing columns {sorted(missing)} (expected {COLUMNS})")
    lines = pd.Series(frame.index + 2, index=frame.index)
    frame["title"] = frame["title"].map(lambda t: " ".join(html.unescape(t).split()))
    frame = frame[frame["title"] != ""]
    lines = lines[frame.index]
    published = _times(frame["published_at"], lines, path)
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
