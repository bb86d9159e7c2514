"""A call that would repeat an outcome already on the record is not made again.

A call on a subject with no quote of the minute (VIX, TLT, GLD, ... have no intraday bars) is
scored from daily closes: it enters at the last close before its cycle and exits at the last
close its horizon reaches. Between two session closes, the cycles of the intraday cadence would
make that same call from the same source again and again, and the record would count one outcome
several times. So the first such call stands, and a later one from the same source with the same
subject, direction, entry close and exit close is withdrawn: a mind's becomes an abstention that
says which call it repeats, and the synthesis may not publish it (a ruled-out candidate).

A call made at the minute enters at the quote its cycle saw, the last bar ended by then. Most
cycles see a new bar; but a ticker may not trade between two cycles (after hours, a quiet
name: minutes without trades have no bar, and the real data has evenings without one), and
then the same call from the next cycle would enter at the same bar and exit at the same one:
the same outcome. The same rule holds, on the legs' quote times and the horizon end (found on
the real intraday history by the walk-forward: 4 to 14 such pairs per source in 10,448 cycles).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from ..market import calendar
from .types import Opinion

# ("closes" or "quotes", source, ticker, relative_to, direction, entry, exit): the entry is the
# close (daily) or the legs' quote times (at the minute).
RepeatKey = tuple


def _time(value) -> pd.Timestamp | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def repeat_key(row: dict) -> RepeatKey | None:
    """The outcome a parsed prediction row is scored on: for a daily-scored call its entry and
    exit closes; for a call made at the minute its legs' quotes (the bars the cycle saw) and
    its horizon end (its exit bar). None when it cannot be told (a call at the minute stored
    before its quotes were)."""
    if row.get("parse_status") != "parsed":
        return None
    horizon_end = _time(row.get("horizon_end"))
    if horizon_end is None:
        return None
    relative_to = row.get("relative_to")
    relative_to = None if relative_to is None or pd.isna(relative_to) else relative_to
    call = (row["source"], row["ticker"], relative_to, row["direction"])
    series = row.get("price_series")
    if series is None or pd.isna(series) or series == "daily":  # empty: before intraday
        entry, exit_ = calendar.last_close_at(row["cycle_ts"]), calendar.last_close_at(horizon_end)
        if entry is None or exit_ is None:
            return None
        return ("closes", *call, entry, exit_)
    quote = _time(row.get("quote_ts"))
    if quote is None:
        return None
    return ("quotes", *call, (quote, _time(row.get("relative_quote_ts"))), horizon_end)


@dataclass
class RepeatGuard:
    """The daily-scored calls on the record (the run's prior calls, then each cycle's)."""

    made: dict[RepeatKey, str] = field(default_factory=dict)

    def record(self, predictions: list[dict]) -> None:
        for row in predictions:
            key = repeat_key(row)
            if key is not None:
                self.made.setdefault(key, row["cycle_key"])

    def first(self, row: dict) -> str | None:
        """The cycle that already made the call of `row`, if it is a repeat."""
        key = repeat_key(row)
        return self.made.get(key) if key is not None else None

    def withdraw(self, opinions: list[Opinion], rows: list[dict], standing=None) -> list[Opinion]:
        """The minds' opinions, each new call that repeats the same mind's earlier outcome
        turned into an abstention that says so, and each call the synthesis already published
        on the same prices marked `synthesis_repeat` (rows: the opinions' calls parsed, as
        `loop.prediction_records`). A restatement of a standing call (`standing`:
        predictions/standing_calls.StandingCalls) is neither: it is never counted, so it
        repeats no outcome, and the synthesis may restate its own standing call."""
        by_source = {r["source"]: r for r in rows}
        out = []
        for o in opinions:
            row = by_source.get(o.mind)
            if o.abstained or row is None or o.restates:
                out.append(o)
                continue
            first = self.first(row)
            if first is not None:
                out.append(_withdrawn(o, first))
                continue
            as_synthesis = {**row, "source": "synthesis"}
            if standing is not None and standing.classify(as_synthesis)["restates"]:
                out.append(o)
                continue
            published = self.first(as_synthesis)
            out.append(replace(o, synthesis_repeat=published) if published else o)
        return out


def _when(cycle_key: str) -> str:
    return f"{cycle_key[:10]} {cycle_key[11:]}"


def _withdrawn(o: Opinion, first: str) -> Opinion:
    reason = (
        f"{o.subject} {o.direction} over {o.timeframe} repeats my call of {_when(first)}: "
        "it has no new price since, so it would be the same outcome counted twice"
    )
    return o.as_abstention(reason)


def synthesis_rule(o: Opinion) -> dict | None:
    """A ruling (like an active rule's) that keeps the synthesis from publishing a call it has
    already published on the same prices."""
    if not o.synthesis_repeat:
        return None
    return {
        "rule_text": f"the synthesis published {o.subject} {o.direction} at "
        f"{_when(o.synthesis_repeat)} and it has no new price since: "
        "the same outcome would count twice"
    }
