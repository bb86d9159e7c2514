"""`release_calendar`: the scheduled releases a cycle knows are coming, and those just out.

The agencies publish their calendars (FOMC meetings, CPI, the jobs report) for the year ahead,
so a cycle may know a release's date and time long before it happens; what it may not know is
what the release says (that is news, public from its publication). A release is known from
`NOTICE` before it: rescheduled releases (the late-2025 shutdown delays) were announced days,
not months, ahead, and a week is the notice every release in the data had. A cycle shows the
releases due in the next `AHEAD` and those out in the `WINDOW` before it ("CPI at 08:30 on
2026-04-10"; "the FOMC statement came out at 14:00"). The table is append-only, one row a
release.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import duckdb
import pandas as pd

from ..store import release_calendar as table

NOTICE = pd.Timedelta(days=7)  # a release is known this long before it
AHEAD = pd.Timedelta(days=7)  # a cycle shows the releases due this far ahead
WINDOW = pd.Timedelta(hours=24)  # and those out in the day before it (as `news_archive`)
CALENDAR_COLUMNS = ("event_id", "event_at", "known_from", "source", "name", "title", "url")

# What a reader calls a release, from its official title.
NAMES = (
    (re.compile(r"consumer price index|\bCPI\b", re.I), "CPI"),
    (re.compile(r"employment situation|jobs report|nonfarm", re.I), "the jobs report"),
    (re.compile(r"press conference", re.I), "the Fed chair's press conference"),
    (re.compile(r"FOMC|policy decision|Federal Reserve", re.I), "the FOMC statement"),
)


def release_name(title: str) -> str:
    """'CPI', 'the jobs report', 'the FOMC statement' … or the title itself."""
    return next((name for pattern, name in NAMES if pattern.search(title)), title)


def empty_calendar() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series([], dtype="datetime64[ns]" if c in ("event_at", "known_from") else object)
            for c in CALENDAR_COLUMNS
        }
    )


def calendar_rows(events: pd.DataFrame) -> pd.DataFrame:
    """Rows of the table from releases (`published_at` the release's time, `source`, `title`,
    optional `url`), each known `NOTICE` before it."""
    if events.empty:
        return empty_calendar()
    at = pd.to_datetime(events["published_at"]).astype("datetime64[ns]")
    titles = events["title"].astype(str)
    out = pd.DataFrame(
        {
            "event_at": at.to_numpy(),
            "known_from": (at - NOTICE).to_numpy(),
            "source": events["source"].astype(str).to_numpy(),
            "name": [release_name(t) for t in titles],
            "title": titles.to_numpy(),
            "url": (events["url"] if "url" in events else pd.Series("", index=events.index))
            .fillna("")
            .astype(str)
            .to_numpy(),
        }
    )
    out["event_id"] = [
        hashlib.sha256(f"{a:%Y-%m-%d %H:%M}|{t}".encode()).hexdigest()[:24]
        for a, t in zip(out["event_at"], out["title"], strict=True)
    ]
    out = out.drop_duplicates("event_id").sort_values(["event_at", "event_id"])
    return out.reset_index(drop=True)[list(CALENDAR_COLUMNS)]


def in_span(calendar: pd.DataFrame, start, end) -> pd.DataFrame:
    """The releases a run over [start, end] may store: known by `end`, not over before the
    window of `start`."""
    keep = (calendar["known_from"] <= pd.Timestamp(end)) & (
        calendar["event_at"] > pd.Timestamp(start) - WINDOW
    )
    return calendar[keep].reset_index(drop=True)


def store(conn: duckdb.DuckDBPyConnection, events: pd.DataFrame) -> int:
    """Append the releases the table does not hold; returns how many were added."""
    return table.append_new(conn, events[list(CALENDAR_COLUMNS)] if len(events) else events)


def around(conn: duckdb.DuckDBPyConnection, cycle_times: Sequence) -> pd.DataFrame:
    """Each cycle's releases: cycle_ts, event_at, name, title, source, status ("coming": due in
    the next `AHEAD` and known by the cycle; "out": in the `WINDOW` before it, or at its
    minute). A read: works on a read-only connection without the table (no rows)."""
    columns = ["cycle_ts", "event_at", "name", "title", "source", "status"]
    out = (
        table.around(
            conn,
            cycle_times,
            window_s=int(WINDOW.total_seconds()),
            ahead_s=int(AHEAD.total_seconds()),
        )
        if len(cycle_times)
        else None
    )
    if out is None:
        return pd.DataFrame(columns=columns)
    for col in ("cycle_ts", "event_at"):
        out[col] = out[col].astype("datetime64[ns]")
    return out[columns]


def rows_by_cycle(releases: pd.DataFrame) -> dict[pd.Timestamp, list[dict]]:
    """`around`'s rows per cycle as the context shows them: name, at ("%Y-%m-%d %H:%M"),
    status, source."""
    out: dict[pd.Timestamp, list[dict]] = {}
    for row in releases.itertuples(index=False):
        out.setdefault(row.cycle_ts, []).append(
            {
                "name": row.name,
                "at": f"{row.event_at:%Y-%m-%d %H:%M}",
                "status": row.status,
                "source": row.source,
            }
        )
    return out
