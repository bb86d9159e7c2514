"""What the minds and the synthesis are shown at a cycle, as typed objects.

`minds/context.build_context` makes one per cycle from the cycle's features, regime, rates, news
and the record as of the cycle; the minds, the prompts and the synthesis read its attributes.
Its JSON (`to_json`) is what `mind_context.context_json` stores and what the leak audit reads:
the field names are the JSON keys, so the stored documents keep their shape.

The record tables (track record, calibration, rules) and the news stay rows (dicts with their
table's columns): they are the warehouse's rows, quoted as they are.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

Row = dict[str, Any]


@dataclass(frozen=True)
class RegimeView:
    label: str  # risk_on | risk_off | rotation | neutral ...
    score: float
    drivers: str  # what moved the label, as the memo may quote it


@dataclass(frozen=True)
class MarketView:
    """The cycle's market, rounded as the memo quotes it (percent moves, levels)."""

    # ticker -> {last, change_1d_pct (the day's move: the regular session against the previous
    # regular close), change_5d_pct, rel_strength_5d}; with a quote of the minute also quote
    # (its time and bars), since_open_pct, since_prev_cycle_pct, range_position and, after hours
    # or before the open, extended_session and extended_move_pct; a ticker quoted at its last
    # close while others have intraday quotes carries stale: true.
    tickers: dict[str, Row]
    breadth: float
    size_spread_1d: float
    size_spread_5d: float
    mega_cap_1d: float
    mega_cap_5d: float
    vix_level: float
    vix_change_1d: float
    ust_10y: float
    ust_2y: float
    spread_10y_2y: float
    fed_funds: float
    ust_10y_change_5obs_bp: float | None = None


@dataclass(frozen=True)
class Lesson:
    cycle_key: str
    source: str
    known_at: str  # "%Y-%m-%d %H:%M", New York
    hit: bool
    score: float
    text: str


@dataclass(frozen=True)
class CycleContext:
    cycle_key: str
    cycle_ts: str  # "%Y-%m-%d %H:%M", New York
    ordinal: int
    regime: RegimeView
    market: MarketView
    news: list[Row] = field(default_factory=list)  # published_at, source, title, tickers
    track_record: list[Row] = field(default_factory=list)  # track_record rows as of the cycle
    lessons: list[Lesson] = field(default_factory=list)
    calibration: list[Row] = field(default_factory=list)
    rules: list[Row] = field(default_factory=list)  # active rules as of the cycle
    known_through: str | None = None  # the latest outcome known at the cycle

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The document `mind_context.context_json` stores (keys sorted)."""
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> CycleContext:
        return cls(
            **{
                **doc,
                "regime": RegimeView(**doc["regime"]),
                "market": MarketView(**doc["market"]),
                "lessons": [Lesson(**lesson) for lesson in doc["lessons"]],
            }
        )
