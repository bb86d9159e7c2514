"""What the minds are shown at a cycle: all of it as of the cycle time.

`CycleHistory` walks cycles in time order. The record a cycle sees (scores, track record,
lessons, rules, calibration) is as of its *record point*: the last session close, plus the 15
minutes VIX takes to settle, at or before the cycle (`record_point`). There each earlier call whose
horizon has ended is scored once, with the closes published by then, and the track record and
rules are computed with the same SQL that builds the warehouse rollups. Nothing whose outcome was
not yet known at a cycle reaches that cycle's context.

Why at the close and not at every cycle: the cycles of one session (09:15 to 15:45, 19:15) see
one record, the evening's, so a call made at 09:45 and ended at 13:45 counts from the close,
with the session's other outcomes. The cycles between two closes can then be asked at once
(Message Batches, `waves`) and see exactly what the loop walked one by one would have shown
them (an abstention is known at once, a sub-session call before the close: counted per cycle,
they differed), and the record's SQL runs once a session, not sixteen times.

(Over 350 lines: what a cycle is shown is one as-of rule applied to every part (market, news,
releases, record, lessons, rules), kept together so the rule is read once.)
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ..market import calendar
from ..market.universe import TICKER_KIND
from ..predictions.horizon import timeframe_bucket
from ..predictions.lessons import lesson_for
from ..predictions.scoring import SETTLE_GRACE, PriceBook, score_calls
from ..store.sql_project import models_by_name, run_models
from .cycle_context import CycleContext, Lesson, MarketView, RegimeView

LESSONS_SHOWN = 5
RECORD_MODELS = ("track_record", "rules", "calibration")


def subject_kind(ticker: str | None, relative_to: str | None) -> str | None:
    if ticker is None:
        return None
    if relative_to:
        return "pair"
    return TICKER_KIND.get(ticker, "other")


# The columns of prediction_scores that the record models read, with their types: the known
# scores live in a typed in-memory table, so the models run on it without any conversion.
RECORD_COLUMNS = {
    "cycle_key": "VARCHAR",
    "cycle_ts": "TIMESTAMP",
    "source": "VARCHAR",
    "regime": "VARCHAR",
    "timeframe_bucket": "VARCHAR",
    "subject_kind": "VARCHAR",
    "ticker": "VARCHAR",
    "relative_to": "VARCHAR",
    "direction": "VARCHAR",
    "status": "VARCHAR",
    "confidence": "DOUBLE",
    "conviction": "DOUBLE",
    "hit": "BOOLEAN",
    "score": "DOUBLE",
    "brier": "DOUBLE",
    "known_at": "TIMESTAMP",
    "entry_ts": "TIMESTAMP",
    "exit_ts": "TIMESTAMP",
}


# What a known score keeps of its row: the record's columns and what its lesson says
# (`predictions.lessons.lesson_for`).
KNOWN_FIELDS = [*RECORD_COLUMNS, "realized_return_pct", "timeframe"]


def _pending(call: dict) -> tuple[pd.Timestamp | None, pd.Timestamp, dict]:
    """(from when a call's outcome can be known: None for at once, an unparsed call's; the time
    it was made; the call), its times parsed once, not at every record point."""
    # An abstention, a parse error or a restatement is known at once; a call at its horizon.
    restated = isinstance(call.get("restates"), str) and bool(call["restates"])
    due_from = (
        None if call["parse_status"] != "parsed" or restated else pd.Timestamp(call["horizon_end"])
    )
    return due_from, pd.Timestamp(call["cycle_ts"]), call


@dataclass
class _KnownOrder:
    """A list of known scores (`of`) in (known_at, cycle_key, source) order, kept in step as it
    grows: what a record point sees is a prefix of it, found by bisection, not a pass over every
    score at every point (quadratic over a year, twice a cycle for a placebo). Rows with equal
    keys keep the order they became known (a stable sort's); a row with no time it became known
    is never known at any point, and left out."""

    of: list[dict]
    indexed: int = 0  # how many of `of` were put in order
    keys: list[tuple] = field(default_factory=list)
    ats: list[pd.Timestamp] = field(default_factory=list)  # each row's known_at
    rows: list[dict] = field(default_factory=list)

    def catch_up(self) -> None:
        for row in self.of[self.indexed :]:
            at_time = row["known_at"]
            if pd.isna(at_time):
                continue
            if at_time < row["cycle_ts"]:
                raise ValueError(
                    f"a score of {row['source']} known at {at_time}, before its call was made "
                    f"at {row['cycle_ts']}: an outcome cannot precede its call"
                )
            key = (at_time, row.get("cycle_key", ""), row["source"])
            at = bisect.bisect_right(self.keys, key)
            self.keys.insert(at, key)
            self.ats.insert(at, at_time)
            self.rows.insert(at, row)
        self.indexed = len(self.of)


def record_point(cycle_ts: pd.Timestamp) -> pd.Timestamp | None:
    """The time the record a cycle sees is as of: the last session close plus SETTLE_GRACE at
    or before the cycle (naive New York time); None before the calendar's first close. The
    record as of a point holds the calls made before it whose outcome was known by then."""
    close = calendar.last_close_at(calendar.to_naive_ny(cycle_ts) - SETTLE_GRACE)
    return None if close is None else close + SETTLE_GRACE


@dataclass
class CycleHistory:
    """Scores, lessons and rules as they became known, advanced cycle by cycle."""

    closes: pd.DataFrame  # ticker, bar_ts, close: published closes (any range)
    pending: list[tuple] = field(default_factory=list)  # `_pending` of each call not yet known
    known: list[dict] = field(default_factory=list)
    _record_cache: tuple[int, dict] | None = None
    _db: duckdb.DuckDBPyConnection | None = None
    _order: _KnownOrder | None = None  # `known` in order (`_ordered`)
    # What is derived from the scores known at the last few record points asked.
    _views: dict[tuple, tuple] = field(default_factory=dict)
    _point: pd.Timestamp | None = None
    _book: PriceBook | None = None

    def add_predictions(self, rows: list[dict]) -> None:
        self.pending.extend(_pending(call) for call in rows)

    def advance_to(self, cycle_ts: pd.Timestamp) -> None:
        """Score every pending call whose outcome is known by the cycle's record point (once per
        point: the cycles of a session share it)."""
        point = record_point(cycle_ts)
        if point is None or point == self._point:
            return
        self._point = point
        ready, waiting = [], []
        for entry in self.pending:
            due_from, made, call = entry
            # Made at or after the point (an evening cycle; on a half day, the cycle at the
            # point itself): known at the next one, as its wave (`waves`) requires.
            if (due_from is None or due_from <= point) and made < point:
                ready.append(call)
            else:
                waiting.append(entry)
        if not ready:
            return
        self.pending = waiting
        # One canonical order, so sums in the record are the same whichever run scored them.
        ready.sort(key=lambda c: (pd.Timestamp(c["cycle_ts"]), c["source"]))
        if self._book is None:  # indexed once; scoring as of each point uses only its prices
            self._book = PriceBook.of(self.closes)
        scored = score_calls(pd.DataFrame(ready), None, now=point, book=self._book)
        # Unscorable calls (parse errors, missing prices) are dropped: they teach nothing.
        # Restatements are kept to be listed beside the calls, never counted in them.
        scored = scored[scored["status"].isin(("scored", "abstained", "restatement"))]
        if scored.empty:
            return
        new = scored.reindex(columns=KNOWN_FIELDS).to_dict("records")
        for row in new:
            row["known_at"] = pd.Timestamp(row["known_at"])
        self.known.extend(new)
        self._store(scored)

    def _store(self, scored: pd.DataFrame) -> None:
        if self._db is None:
            self._db = duckdb.connect(":memory:", config={"threads": 1})
            ddl = ", ".join(f"{c} {t}" for c, t in RECORD_COLUMNS.items())
            self._db.execute(f"create table known_scores ({ddl})")
        self._db.register("new_scores", scored.reindex(columns=list(RECORD_COLUMNS)))
        casts = ", ".join(f"cast({c} as {t}) as {c}" for c, t in RECORD_COLUMNS.items())
        self._db.execute(f"insert into known_scores select {casts} from new_scores")
        self._db.unregister("new_scores")

    def _ordered(self) -> _KnownOrder:
        """`known` in (known_at, cycle_key, source) order, up to date (made again when `known`
        is set from outside)."""
        if self._order is None or self._order.of is not self.known:
            self._order = _KnownOrder(self.known)
        self._order.catch_up()
        return self._order

    def _view(self, cycle_ts: pd.Timestamp) -> tuple[pd.Timestamp | None, int, set[int], dict]:
        """(record point, end of its prefix of `_ordered`, the positions in that prefix that are
        not known there, a cache of what is derived from it): the scores known at `cycle_ts`
        are the prefix's rows made before the point, counted from the next point when made
        at the point itself (a half day's 13:15 cycle), as `advance_to` scores them; a
        placebo asking for a past point must not see them either."""
        point = record_point(cycle_ts)
        key = (point, len(self.known), id(self.known))
        view = self._views.get(key)
        if view is None:
            order = self._ordered()
            ats, rows = order.ats, order.rows
            end = 0 if point is None else bisect.bisect_right(ats, point)
            # A call made at or after the point and known by it was known at the point itself
            # (an outcome never precedes its call: `_KnownOrder`): only the prefix's tail.
            start = end if point is None else bisect.bisect_left(ats, point)
            hidden = {i for i in range(start, end) if rows[i]["cycle_ts"] >= point}
            view = self._views[key] = (point, end, hidden, {})
            while len(self._views) > 4:
                self._views.pop(next(iter(self._views)))
        return view

    def known_by(self, cycle_ts: pd.Timestamp) -> list[dict]:
        """The scores known at `cycle_ts`, in the order they became known."""
        _, end, hidden, _ = self._view(cycle_ts)
        rows = self._ordered().rows
        return [rows[i] for i in range(end) if i not in hidden]

    def count_known(self, cycle_ts: pd.Timestamp) -> int:
        """How many scores are known at `cycle_ts`."""
        _, end, hidden, _ = self._view(cycle_ts)
        return end - len(hidden)

    def recent_scored(self, cycle_ts: pd.Timestamp, n: int) -> list[dict]:
        """The last `n` scored calls known by `cycle_ts`, oldest first."""
        _, end, hidden, cache = self._view(cycle_ts)
        if ("recent", n) not in cache:
            rows = self._ordered().rows
            recent = []
            for i in range(end - 1, -1, -1):
                if len(recent) == n:
                    break
                if rows[i]["status"] == "scored" and i not in hidden:
                    recent.append(rows[i])
            cache["recent", n] = recent[::-1]
        return cache["recent", n]

    def known_through(self, cycle_ts: pd.Timestamp) -> pd.Timestamp | None:
        _, end, hidden, cache = self._view(cycle_ts)
        if "through" not in cache:
            ats = self._ordered().ats
            last = next((i for i in range(end - 1, -1, -1) if i not in hidden), None)
            cache["through"] = None if last is None else ats[last]
        return cache["through"]

    def record(self, cycle_ts: pd.Timestamp) -> dict[str, pd.DataFrame]:
        """Track record, rules and calibration from the scores known at `cycle_ts`, by the SQL
        models that build the warehouse rollups, run on the in-memory table of known scores."""
        count = self.count_known(cycle_ts)
        if self._record_cache and self._record_cache[0] == count:
            return self._record_cache[1]
        if count == 0:
            result = {name: pd.DataFrame() for name in RECORD_MODELS}
        else:
            point = f"timestamp '{record_point(cycle_ts):%Y-%m-%d %H:%M:%S}'"
            self._db.execute(
                "create or replace temp view prediction_scores as select * from known_scores "
                f"where known_at <= {point} and cycle_ts < {point}"
            )
            models = models_by_name()
            result = run_models(self._db, [models[m] for m in RECORD_MODELS])
        self._record_cache = (count, result)
        return result

    def record_rows(self, cycle_ts: pd.Timestamp) -> dict[str, list[dict]]:
        """`record` as the context's rows (shared, read-only, by the cycles of a point)."""
        record = self.record(cycle_ts)
        cache = self._view(cycle_ts)[3]
        if "rows" not in cache:
            cache["rows"] = {
                name: _records(record[name], columns) for name, columns in RECORD_ROWS.items()
            }
        return cache["rows"]


# The record's columns a context shows, per model.
RECORD_ROWS = {
    "track_record": [
        "source",
        "regime",
        "timeframe_bucket",
        "subject_kind",
        "n",
        "n_restatements",
        "n_abstained",
        "hits",
        "hit_rate",
        "mean_score",
        "brier",
        "base_rate",
        "brier_skill",
    ],
    "calibration": ["source", "direction", "bin_low", "n", "mean_stated", "hit_rate"],
    "rules": [
        "rule_id",
        "source",
        "timeframe_bucket",
        "subject_kind",
        "n",
        "hit_rate",
        "rule_text",
    ],
}


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    if frame is None or frame.empty:
        return []
    out = frame[[c for c in columns if c in frame.columns]].copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d %H:%M")
    return json.loads(out.to_json(orient="records"))


NO_NEWS = "no headline is public in the day before this cycle"
NEWS_FIELDS = ["item_id", "published_at", "visible_from", "source", "title", "summary", "tickers"]


def news_rows_by_cycle(news: pd.DataFrame) -> dict[pd.Timestamp, list[dict]]:
    """Each cycle's headlines of a range's `news_items`, newest first, each with the handle the
    minds and the memo cite it by ("N1" the newest) and its archive id; converted in one pass
    (once a cycle, the conversion cost a year's loop seconds)."""
    if news is None or news.empty:
        return {}
    ordered = news.sort_values(
        ["cycle_ts", "visible_from", "item_id"], ascending=[True, False, True], kind="stable"
    )
    rows = _records(ordered, NEWS_FIELDS)
    out: dict[pd.Timestamp, list[dict]] = {}
    for cycle_ts, row in zip(ordered["cycle_ts"], rows, strict=True):
        mine = out.setdefault(cycle_ts, [])
        mine.append({"cite": f"N{len(mine) + 1}", **row})
    return out


def _rounded(value, digits: int = 2):
    return None if value is None or pd.isna(value) else round(float(value), digits)


def _intraday_fields(row: dict) -> dict:
    """What a quote of the minute adds (market/quotes.py); nothing for a daily close."""
    if "quote_source" not in row or row["quote_source"] == "daily close":
        return {"stale": True} if row.get("stale") else {}
    fields = {
        "quote": f"{row['quote_ts']:%H:%M} ({row['quote_source']} bars)",
        "since_open_pct": _rounded(row["since_open_pct"]),
        "since_prev_cycle_pct": _rounded(row["since_prev_cycle_pct"]),
        "range_position": _rounded(row["range_position"]),
    }
    if isinstance(row["extended_session"], str):
        fields["extended_session"] = row["extended_session"]
        fields["extended_move_pct"] = _rounded(row["extended_move_pct"])
    if row.get("stale"):  # the last bar ended long before the cycle (a gap in the data)
        fields["stale"] = True
    return {k: v for k, v in fields.items() if v is not None}


def build_context(
    cycle_key: str,
    cycle_ts: pd.Timestamp,
    ordinal: int,
    features: list[dict],
    regime: dict,
    rates: list[dict],
    news: list[dict],
    history: CycleHistory,
    feedback: Feedback | None = None,
    standing: list[dict] | None = None,
    releases: list[dict] | None = None,
) -> CycleContext:
    """What the minds are shown at one cycle (the record as `feedback` shows it). `features` and
    `rates` are the cycle's rows as records; `news` its headlines' rows as `news_rows_by_cycle`
    made them; `standing` every source's calls standing at the cycle; `releases` the scheduled
    releases due and just out (`release_calendar.rows_by_cycle`)."""
    feedback = feedback or Feedback()
    tickers = {
        row["ticker"]: {
            "last": round(float(row["last"]), 2),
            "change_1d_pct": round(float(row["change_1d_pct"]), 2),
            "change_5d_pct": round(float(row["change_5d_pct"]), 2),
            "rel_strength_5d": round(float(row["rel_strength_5d"]), 2),
            **_intraday_fields(row),
        }
        for row in features
    }
    first = features[0]
    ust10 = [
        r["value"] for r in sorted(rates, key=lambda r: r["as_of"]) if r["series"] == "ust_10y"
    ]
    market = MarketView(
        tickers=tickers,
        breadth=round(float(first["breadth"]), 4),
        size_spread_1d=round(float(first["size_spread_1d"]), 2),
        size_spread_5d=round(float(first["size_spread_5d"]), 2),
        mega_cap_1d=round(float(first["mega_cap_1d"]), 2),
        mega_cap_5d=round(float(first["mega_cap_5d"]), 2),
        vix_level=round(float(first["vix_level"]), 2),
        vix_change_1d=round(float(first["vix_change_1d"]), 2),
        ust_10y=float(first["ust_10y"]),
        ust_2y=float(first["ust_2y"]),
        spread_10y_2y=float(first["spread_10y_2y"]),
        fed_funds=float(first["fed_funds"]),
        ust_10y_change_5obs_bp=round(100 * float(ust10[-1] - ust10[-6]), 1)
        if len(ust10) >= 6
        else None,
    )
    history.advance_to(cycle_ts)
    record, lessons, known_through = feedback.shown(history, cycle_ts, regime["label"])
    return CycleContext(
        cycle_key=cycle_key,
        cycle_ts=cycle_ts.strftime("%Y-%m-%d %H:%M"),
        ordinal=ordinal,
        regime=RegimeView(
            label=regime["label"], score=float(regime["score"]), drivers=regime["drivers"]
        ),
        market=market,
        news=news,
        track_record=record["track_record"],
        lessons=lessons,
        calibration=record["calibration"],
        rules=record["rules"],
        known_through=known_through.strftime("%Y-%m-%d %H:%M") if known_through else None,
        priors=dict(feedback.priors) or None,
        standing=standing or [],
        releases=releases or [],
        news_note=None if news else NO_NEWS,
    )


def _lessons(history: CycleHistory, at: pd.Timestamp, regime: str, n: int) -> list[Lesson]:
    """The last `n` lessons known at `at`, the regime's first (stable: time order kept)."""
    relevant = sorted(history.recent_scored(at, 40), key=lambda r: r["regime"] == regime)
    return [
        Lesson(
            cycle_key=r["cycle_key"],
            source=r["source"],
            known_at=r["known_at"].strftime("%Y-%m-%d %H:%M"),
            hit=bool(r["hit"]),
            score=float(r["score"]),
            text=lesson_for(r),
        )
        for r in (relevant[-n:] if n else [])
    ]


NO_RECORD = {name: [] for name in RECORD_ROWS}


@dataclass(frozen=True)
class Feedback:
    """What of the loop's own record a cycle's minds and synthesis are shown (a variant's
    `feedback`, config/variants.py): `on`, the record known at the cycle; `off`, nothing (no record,
    lessons, rules or calibration: every call at 0.5); `placebo`, real lines of the same length
    that are not the cycle's own record: the lessons and the record known `offset_days`
    earlier, as many lessons as the cycle would have been shown."""

    mode: str = "on"
    offset_days: int = 182
    # The calibration's pseudo-calls the variant sets (minds/calibration.py); None: the loop's.
    priors: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of_variant(cls, name: str) -> Feedback:
        """What variant `name` of variants.yaml shows the minds, and how it calibrates."""
        from ..config.variants import load_variants

        variant = load_variants()[name]
        return cls(variant.feedback, variant.placebo_offset_days, variant.calibration)

    def shown(
        self, history: CycleHistory, cycle_ts: pd.Timestamp, regime: str
    ) -> tuple[dict[str, list[dict]], list[Lesson], pd.Timestamp | None]:
        """(record rows, lessons, known through) the cycle is shown."""
        if self.mode == "off":
            return NO_RECORD, [], None
        if self.mode == "on":
            return (
                history.record_rows(cycle_ts),
                _lessons(history, cycle_ts, regime, LESSONS_SHOWN),
                history.known_through(cycle_ts),
            )
        n = min(LESSONS_SHOWN, len(history.recent_scored(cycle_ts, LESSONS_SHOWN)))
        earlier = cycle_ts - pd.Timedelta(days=self.offset_days)
        if record_point(earlier) is None or not history.count_known(earlier):
            return NO_RECORD, [], None
        return (
            history.record_rows(earlier),
            _lessons(history, earlier, regime, n),
            history.known_through(earlier),
        )


def mind_record(context: CycleContext, source: str, regime: str | None = None) -> tuple[int, int]:
    """(n, hits) of a source's scored calls, in a regime or overall, from the context."""
    want = regime or "all"
    for row in context.track_record:
        if (
            row["source"] == source
            and row["regime"] == want
            and row["timeframe_bucket"] == "all"
            and row["subject_kind"] == "all"
        ):
            return int(row["n"] or 0), int(row["hits"] or 0)
    return 0, 0


def active_rule(
    context: CycleContext,
    source: str,
    ticker: str | None,
    relative_to: str | None,
    hours: float | None,
) -> dict | None:
    """The first active rule that forbids this kind of call from this source."""
    if ticker is None or hours is None:
        return None
    kind = subject_kind(ticker, relative_to)
    bucket = timeframe_bucket(hours)
    for rule in context.rules:
        if (
            rule["source"] == source
            and rule["subject_kind"] == kind
            and rule["timeframe_bucket"] == bucket
        ):
            return rule
    return None


def waves(cycles: list[pd.Timestamp]) -> list[list[pd.Timestamp]]:
    """Consecutive cycles that share a record point (no session close, plus its settlement,
    between them).

    Every cycle of a wave sees the record of the same point, which no call made in the wave can
    reach (`record_point`): a wave's minds can be asked all at once (one Message Batch) and see
    exactly what they would have seen asked one cycle at a time.
    """
    out: list[list[pd.Timestamp]] = []
    last = object()
    for cycle in cycles:
        point = record_point(cycle)
        if out and point == last:
            out[-1].append(cycle)
        else:
            out.append([cycle])
        last = point
    return out
