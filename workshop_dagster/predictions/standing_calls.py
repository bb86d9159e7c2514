"""One idea, one outcome: a call stands until its horizon, and saying it again is a restatement.

From the cycle a source makes a call until the call's horizon ends, the call is that source's
standing view on its subject. A later call of the same source on the same subject in the same
direction while it stands, whatever horizon it names, *restates* it: it is recorded (with the
cycle of the call it restates) and shown as such, never scored, never counted in a track
record, a calibration, a rule or an evaluation. A call in the other direction on a standing
subject is a new call that *replaces* the standing one (which is still scored at its own
horizon: it was made); a call on another subject, or after the standing call's horizon has
ended, is a new call. At the 30-minute cadence a source would otherwise make the same call
every cycle from a new entry quote, and each copy would count as independent evidence (32
copies of `SPY down 48h` made a mind look reliable on three ideas: docs/scoring.md).

A pair is one idea whichever way it is written: "IWM down relative to META" is "META up
relative to IWM". Parse errors and abstentions neither stand nor restate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

FLIP = {"up": "down", "down": "up", "flat": "flat"}


def idea(row: dict) -> tuple[str, str, str | None, str] | None:
    """(source, ticker, relative_to, direction) of a parsed call, a pair written one way only
    (its legs in name order); None for a row that is not a parsed call."""
    if row.get("parse_status") != "parsed" or not row.get("ticker"):
        return None
    ticker, other, direction = row["ticker"], row.get("relative_to"), row["direction"]
    other = None if other is None or (isinstance(other, float) and pd.isna(other)) else other
    if other is not None and other < ticker:
        ticker, other, direction = other, ticker, FLIP.get(direction, direction)
    return row["source"], ticker, other, direction


@dataclass(frozen=True)
class Standing:
    """A source's standing call on a subject: made at `cycle_key`, standing until `until`;
    `direction` is the pair's as `idea` writes it (its legs in name order)."""

    cycle_key: str
    cycle_ts: pd.Timestamp
    direction: str
    timeframe: str
    until: pd.Timestamp
    confidence: float

    def as_row(self, source: str, subject: str) -> dict:
        return {
            "source": source,
            "subject": subject,
            "direction": self.direction,
            "timeframe": self.timeframe,
            "since": self.cycle_key,
            "until": f"{self.until:%Y-%m-%d %H:%M}",
            "confidence": round(float(self.confidence), 2),
        }


def _time(value) -> pd.Timestamp | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


@dataclass
class StandingCalls:
    """Every source's standing calls, walked forward in time order (`classify` each cycle's
    rows before `record`ing them)."""

    by_subject: dict[tuple, Standing] = field(default_factory=dict)
    # `at`'s last answer, kept while no call is recorded and none of its calls has ended: the
    # cycles of a session mostly see the same standing calls.
    _shown: tuple | None = None

    def standing(self, row: dict) -> Standing | None:
        """The call standing on `row`'s subject for its source at its cycle, in either
        direction (None when none stands)."""
        key = idea(row)
        if key is None:
            return None
        standing = self.by_subject.get(key[:3])
        if standing is None:
            return None
        return standing if pd.Timestamp(row["cycle_ts"]) < standing.until else None

    def classify(self, row: dict) -> dict:
        """`restates`: the cycle of the standing call `row` says again (same source, subject and
        direction, while it stands), else None; `replaces`: the cycle of the standing call in
        the other direction a new call replaces, else None."""
        key = idea(row)
        standing = self.standing(row)
        if key is None or standing is None:
            return {"restates": None, "replaces": None}
        if standing.direction == key[3]:
            return {"restates": standing.cycle_key, "replaces": None}
        return {"restates": None, "replaces": standing.cycle_key}

    def record(self, row: dict) -> None:
        """A new call becomes its source's standing call on its subject (a restatement changes
        nothing: the call it restates stands until its own horizon)."""
        key = idea(row)
        until = _time(row.get("horizon_end"))
        if key is None or until is None or row.get("restates"):
            return
        self._shown = None
        self.by_subject[key[:3]] = Standing(
            str(row["cycle_key"]),
            pd.Timestamp(row["cycle_ts"]),
            key[3],
            str(row.get("timeframe") or ""),
            until,
            float(row.get("confidence") or 0.0),
        )

    def walk(self, rows: Iterable[dict]) -> list[dict]:
        """Classify and record `rows` in (cycle_ts, source) order; returns them with `restates`
        and `replaces` set (rows stored before the rule get it here, as the rule would have)."""
        out = []
        for row in sorted(rows, key=lambda r: (pd.Timestamp(r["cycle_ts"]), str(r["source"]))):
            row = {**row, **self.classify(row)}
            self.record(row)
            out.append(row)
        return out

    def at(self, cycle_ts: pd.Timestamp) -> list[dict]:
        """Every source's calls standing at `cycle_ts`, as a context shows them (the rows are
        shared with the cycles that see the same calls: read-only)."""
        at = pd.Timestamp(cycle_ts)
        if self._shown is not None:
            since, first_end, rows = self._shown
            if since <= at < first_end:
                return rows
        standing = [(key, s) for key, s in self.by_subject.items() if s.cycle_ts <= at < s.until]
        standing.sort(key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))
        rows = [
            s.as_row(src, f"{ticker} vs {other}" if other else ticker)
            for (src, ticker, other), s in standing
        ]
        # Valid until the first of them ends or a later call begins to stand.
        ends = [s.until for _, s in standing]
        later = [s.cycle_ts for s in self.by_subject.values() if s.cycle_ts > at]
        first_end = min([*ends, *later], default=pd.Timestamp.max)
        self._shown = (at, first_end, rows)
        return rows

    def mark(self, opinions: list, rows: list[dict]) -> list:
        """The minds' opinions (`minds.types.Opinion`), each call that restates the same
        mind's standing call marked with that call's cycle (`restates`). `rows`: the opinions'
        calls parsed (`loop.prediction_records`)."""
        from dataclasses import replace

        by_source = {r["source"]: r for r in rows}
        out = []
        for o in opinions:
            row = by_source.get(o.mind)
            restates = None if o.abstained or row is None else self.classify(row)["restates"]
            out.append(replace(o, restates=restates) if restates else o)
        return out


def standing_on(
    standing: list[dict], source: str, ticker: str, relative_to: str | None, direction: str
) -> tuple[dict, bool] | None:
    """The call of `source` standing on a subject among a context's `standing` rows (as `at`
    makes them), and whether `direction` is its direction (a restatement) or not (a flip)."""
    key = idea(
        {
            "parse_status": "parsed",
            "source": source,
            "ticker": ticker,
            "relative_to": relative_to,
            "direction": direction,
        }
    )
    if key is None:
        return None
    subject = f"{key[1]} vs {key[2]}" if key[2] else key[1]
    for row in standing:
        if row["source"] == source and row["subject"] == subject:
            return row, row["direction"] == key[3]
    return None


def when(cycle_key: str) -> str:
    """'2026-11-30 10:15' of a cycle key, as a memo names a cycle."""
    return f"{cycle_key[:10]} {cycle_key[11:16]}"


def label(row: dict) -> str:
    """'new', 'restatement' or 'flip' for a classified row (parse errors and abstentions: '')."""
    if idea(row) is None:
        return ""
    if row.get("restates"):
        return "restatement"
    return "flip" if row.get("replaces") else "new"
