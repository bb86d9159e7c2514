"""Reading a csv market folder's files, for the price replay (`csv_replay`) and the news replay
(`news_replay`) alike: a file as text cells with its line numbers, the lines a refusal names,
and ISO 8601 stamps as the New York instants they are."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import calendar
from .errors import MarketDataError

OFFSET_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"


def read_table(path: str) -> pd.DataFrame:
    """A CSV as text cells, with the file line of each row in `line` (header: line 1)."""
    try:
        frame = pd.read_csv(path, dtype=str, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MarketDataError(f"{path}: not a readable CSV file ({exc})".strip()) from None
    frame.columns = [str(c).strip().lower().replace(" ", "_") for c in frame.columns]
    frame["line"] = frame.index + 2
    return frame.dropna(how="all", subset=[c for c in frame.columns if c != "line"])


def listed_lines(rows: pd.DataFrame, column: str) -> str:
    """'line N ('text'), ...' for the rows of a bad cell, at most ten."""
    pairs = zip(rows["line"].head(10), rows[column].head(10), strict=True)
    more = f" and {len(rows) - 10} more lines" if len(rows) > 10 else ""
    return ", ".join(f"line {n} ({v!r})" for n, v in pairs) + more


def instants_in_new_york(text: pd.Series, zone: str | None = None) -> pd.Series:
    """ISO 8601 stamps as naive New York wall-clock times, each read as the instant it names: a
    UTC offset is applied whatever it is (a constant -05:00 through the summer is an hour off
    New York's wall clock, and is converted, not taken as wall clock), `Z` is UTC, and a stamp
    with no offset is read in `zone` (the folder's stated zone), or is unparsable without one.
    Unparsable: NaT."""
    text = text.str.strip()
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    # The files' form, "2026-04-02T10:50:00-04:00", parsed at ten times a general parse's speed.
    fixed = (text.str.len() == 25) & text.str[19].isin(["+", "-"]) & (text.str[22] == ":")
    if fixed.any():
        t = text[fixed]
        wall = pd.to_datetime(t.str[:19], format="%Y-%m-%dT%H:%M:%S", errors="coerce")
        minutes = pd.to_numeric(t.str[20:22], errors="coerce") * 60 + pd.to_numeric(
            t.str[23:25], errors="coerce"
        )
        sign = np.where(t.str[19] == "-", -1.0, 1.0)
        utc = wall - pd.to_timedelta(sign * minutes, unit="min")
        out[fixed] = utc.dt.tz_localize("UTC").dt.tz_convert(calendar.NY).dt.tz_localize(None)
    rest = ~fixed & (text != "")
    if rest.any():
        t = text[rest]
        marked = t.str.contains(OFFSET_RE, regex=True)
        if marked.any():
            aware = pd.to_datetime(t[marked], errors="coerce", utc=True, format="ISO8601")
            out[marked[marked].index] = aware.dt.tz_convert(calendar.NY).dt.tz_localize(None)
        naive = ~marked
        if naive.any() and zone:
            local = pd.to_datetime(t[naive], errors="coerce", format="ISO8601")
            aware = local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            out[naive[naive].index] = aware.dt.tz_convert(calendar.NY).dt.tz_localize(None)
    return out
