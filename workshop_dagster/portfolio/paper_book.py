"""A source's paper portfolio: positions from its published calls, marked at every cycle.

A new call opens a position at the price its cycle saw (the entry the scoring uses: the last
bar ended by the cycle in the intraday series, or the last close) and closes it at the exit the
scoring uses (the horizon's); a restatement keeps it open, a flip (a new call in the other
direction on a standing subject) closes it at the price the flipping cycle saw and opens the
other side. A pair is long one leg and short the other at equal value. A flat call, an
abstention, a call on an index no one can buy (VIX) or one published at a coin flip opens
nothing, and says why. A call the scoring cannot close (no bar at the horizon) is closed at the
last price known by its horizon and flagged, never dropped.

Equity is marked at every cycle from the prices published by that cycle's time; cash earns the
fed funds rate the cycle knew and short legs pay a borrow fee; every trade pays its cost
(rules.py). Nothing here reads a price published after the time it is used at.

(Over 350 lines: one book's rules (open, restate, flip, trim, close, mark, cash) act on the same
state and are read in that order.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..predictions.scoring import SETTLE_GRACE, PriceBook, leg_prices, lookup_prices
from ..predictions.standing_calls import idea
from .rules import PortfolioRules

DAY_COUNT = 360.0  # fed funds accrue actual/360

POSITION_COLUMNS = [
    "source",
    "cycle_key",
    "cycle_ts",
    "subject",
    "direction",
    "confidence",
    "ticker",
    "relative_to",
    "price_series",
    "status",  # open | closed | none
    "reason",  # why no position, or why its close is flagged
    "flagged",
    "weight",  # requested fraction of equity, each leg (signed on the first leg)
    "scale",  # the part of it the book had room for
    "notional",  # value of the first leg at the open (signed)
    "shares",
    "other_shares",
    "entry_price",
    "other_entry_price",
    "entry_ts",
    "close_ts",
    "exit_price",
    "other_exit_price",
    "close_reason",  # horizon | flip | last price by the horizon | ruin
    "costs",
    "pnl",
    "return_pct",  # pnl over the gross value opened, percent
]

MARK_COLUMNS = [
    "source",
    "cycle_key",
    "cycle_ts",
    "cash",
    "long_value",
    "short_value",
    "equity",
    "gross",
    "open_positions",
    "traded",
    "costs",
    "interest",
    "borrow",
    "rate_pct",
]


class _Cells:
    """The positions frame's cells as plain lists while the book is walked (`cells.at[i, col]`
    like a frame's, without pandas' cost per cell), written back once by `flush`."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        # Timestamps stay numpy values here: pandas makes an object per cell of a date column.
        self.columns = {c: list(frame[c].to_numpy()) for c in frame.columns}
        self.at = self

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, key):
        row, col = key
        return self.columns[col][row]

    def __setitem__(self, key, value) -> None:
        row, col = key
        self.columns[col][row] = value

    def flush(self) -> pd.DataFrame:
        for col, values in self.columns.items():
            kind = self.frame[col].dtype
            column = pd.Series(values, index=self.frame.index, dtype=object)
            if col in ("entry_ts", "close_ts"):
                column = pd.to_datetime(column).astype("datetime64[ns]")
            elif col == "flagged":
                column = column.astype(bool)
            elif kind.kind == "f":
                column = pd.to_numeric(column, errors="coerce").astype(float)
            self.frame[col] = column
        return self.frame


@dataclass(frozen=True)
class PaperPortfolio:
    """The positions (one row per new call) and the marks (one row per cycle) of a source."""

    positions: pd.DataFrame
    marks: pd.DataFrame


@dataclass
class _Leg:
    key: tuple[str, str]  # (series, ticker)
    shares: float
    entry: float
    bps: float


@dataclass
class _Plan:
    row: int
    cycle_key: str
    cycle_ts: np.datetime64
    legs: list[_Leg]  # shares set at the open
    signs: list[float]
    exit_at: np.datetime64 | None  # when the planned close is known (None: still open by now)
    exits: list[float]
    close_reason: str
    flagged_reason: str | None


def paper_portfolio(
    calls: pd.DataFrame,
    prices: PriceBook,
    rules: PortfolioRules,
    now: pd.Timestamp,
    rates: pd.DataFrame | None = None,
    marks_at: pd.DataFrame | None = None,
) -> PaperPortfolio:
    """The paper portfolio of one source from its rows of `predictions` (every cycle's, in any
    order: abstentions and restatements included, `restates`/`replaces` set by the standing
    rule), as of `now` (nothing published after it is read).

    `rates`: (as_of, value) of the fed funds rate in percent, each known from its `as_of`.
    `marks_at`: (cycle_key, cycle_ts) of the cycles to mark at; default: the calls' cycles.
    """
    calls = calls.sort_values(["cycle_ts"], kind="stable").reset_index(drop=True)
    now64 = np.datetime64(pd.Timestamp(now), "ns")
    cycles = calls[["cycle_key", "cycle_ts"]]
    if marks_at is not None:  # the calls' own cycles are always marked: positions open there
        cycles = pd.concat([marks_at[["cycle_key", "cycle_ts"]], cycles])
    marks_at = cycles.drop_duplicates("cycle_key").sort_values("cycle_ts", kind="stable")
    marks_at = marks_at.reset_index(drop=True)
    mark_ts = pd.to_datetime(marks_at["cycle_ts"]).to_numpy(dtype="datetime64[ns]")
    mark_ts = mark_ts[mark_ts <= now64]
    frame = _blank_positions(calls)
    cells = _Cells(frame)
    plans = _plans(frame, cells, prices, rules, now64)
    source = str(calls["source"].iloc[0]) if len(calls) else ""
    marks = _walk(plans, cells, prices, rules, mark_ts, _rate_at(rates, mark_ts), now64)
    marks.insert(0, "source", source)
    marks.insert(1, "cycle_key", marks_at["cycle_key"].to_numpy()[: len(marks)])
    return PaperPortfolio(cells.frame[POSITION_COLUMNS], marks[MARK_COLUMNS])


def _blank_positions(calls: pd.DataFrame) -> pd.DataFrame:
    """One row per new call (parsed, not a restatement), nothing decided yet."""
    parsed = calls["parse_status"] == "parsed"
    restates = calls["restates"] if "restates" in calls else pd.Series(None, index=calls.index)
    new = parsed & ~restates.map(lambda r: isinstance(r, str) and bool(r))
    out = calls[new].copy()
    out["relative_to"] = out["relative_to"].where(out["relative_to"].map(_is_ticker), None)
    if "price_series" not in out:
        out["price_series"] = "daily"
    out["price_series"] = out["price_series"].fillna("daily")
    for col, value in (
        ("status", "none"),
        ("reason", None),
        ("flagged", False),
        ("close_reason", None),
    ):
        out[col] = value
    for col in POSITION_COLUMNS:
        if col not in out:
            out[col] = np.nan
    for col in ("entry_ts", "close_ts"):
        out[col] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    out["subject"] = [
        f"{t} vs {r}" if isinstance(r, str) else t
        for t, r in zip(out["ticker"], out["relative_to"], strict=True)
    ]
    return out.reset_index(drop=True).astype({"reason": object, "close_reason": object})


def _is_ticker(value) -> bool:
    return isinstance(value, str) and value != ""


def _plans(positions: pd.DataFrame, cells: _Cells, prices: PriceBook, rules, now64) -> list[_Plan]:
    """Each new call's legs, entry and planned close (`positions`: the blank rows); the calls
    that open nothing get their reason in `cells` and no plan. Every leg's entry and exit is
    looked up at once."""
    n = len(positions)
    if n == 0:
        return []
    wanted = ["cycle_key", "source", "parse_status", "ticker", "direction", "confidence"]
    records = positions[
        [*wanted, "relative_to", "replaces"]
        if "replaces" in positions
        else [*wanted, "relative_to"]
    ].to_dict("records")
    minute = (positions["price_series"] == "intraday").to_numpy()
    first = positions["ticker"].to_numpy(dtype=object)
    second = positions["relative_to"].to_numpy(dtype=object)
    paired = np.array([_is_ticker(t) for t in second], dtype=bool)
    at = np.minimum(pd.to_datetime(positions["cycle_ts"]).to_numpy(dtype="datetime64[ns]"), now64)
    end = pd.to_datetime(positions["horizon_end"]).to_numpy(dtype="datetime64[ns]")
    due = ~np.isnat(end) & (end <= now64)
    end = np.where(due, end, at)  # a call still open is priced at its entry only
    # The entry and exit the scoring uses, each leg in the call's own series.
    entry_px, exit_px, entry_ts, exit_ts, failed, why_failed = leg_prices(
        prices, [first, second], at, end, np.ones(n, dtype=bool), minute, now64
    )
    # The exit is known once its lookup's time has passed: the last bar by then is the exit.
    grace = np.where(minute, np.timedelta64(0, "ns"), np.timedelta64(SETTLE_GRACE))
    exit_at = np.minimum(end + grace, now64)
    plans: list[_Plan] = []
    by_idea: dict[tuple, _Plan] = {}
    for i, row in enumerate(records):
        why = _no_position(row, rules)
        series = "intraday" if minute[i] else "daily"
        tickers = [first[i]] + ([second[i]] if paired[i] else [])
        sign = 1.0 if row["direction"] == "up" else -1.0
        legs = []
        for k, t in enumerate(tickers):
            px = float(entry_px[k][i])
            if why is None and not (np.isfinite(px) and px > 0):
                why = (
                    f"no {t} price at the cycle in the {series} series"
                    if np.isnan(px)
                    else f"{t}'s price at the cycle is {px:g}: not a price a position can open at"
                )
            legs.append(_Leg((series, t), 0.0, px, rules.cost_bps(t) or 0.0))
        if why is not None:
            cells.at[i, "reason"] = why
            continue
        plan = _Plan(
            i,
            str(row["cycle_key"]),
            at[i],
            legs,
            [sign, -sign][: len(legs)],
            None,
            [np.nan] * len(legs),
            "horizon",
            None,
        )
        if due[i]:
            plan.exit_at = exit_at[i]
            for k, leg in enumerate(legs):
                # A leg with no bar after its entry is closed where it opened.
                moved = np.isfinite(exit_px[k][i]) and exit_ts[k][i] > entry_ts[k][i]
                plan.exits[k] = float(exit_px[k][i]) if moved else leg.entry
            if failed[i]:
                plan.close_reason = "last price by the horizon"
                plan.flagged_reason = (
                    f"{why_failed[i]}: closed at the last price known by its horizon"
                )
        cells.at[i, "entry_ts"] = at[i]
        replaced = row.get("replaces")
        key = idea(row)
        if isinstance(replaced, str) and replaced and key is not None:
            _flip(by_idea.get(key[:3]), replaced, at[i], prices)
        if key is not None:
            by_idea[key[:3]] = plan
        plans.append(plan)
    return plans


def _no_position(row: dict, rules: PortfolioRules) -> str | None:
    if row["direction"] not in ("up", "down"):
        return f"a {row['direction']} call takes no side"
    for t in [row["ticker"]] + ([row["relative_to"]] if row["relative_to"] else []):
        if rules.cost_bps(t) is None:
            return f"{t} cannot be bought or sold (an index, not a security): no position"
    if rules.weight(row["confidence"]) <= 0:
        if min(rules.kelly_fraction, rules.position_cap) <= 0:
            return "the sizing is set to nothing (a Kelly fraction or position cap of 0)"
        return f"published at {row['confidence']}: a coin flip sizes to nothing"
    return None


def _flip(previous: _Plan | None, replaced: str, at, prices: PriceBook) -> None:
    """A flip closes the standing call's position at the price the flipping cycle saw."""
    if previous is None or previous.cycle_key != replaced:
        return
    if previous.exit_at is not None and previous.exit_at <= at:
        return
    index = prices.intraday if previous.legs[0].key[0] == "intraday" else prices.daily
    exits = [_one(index, leg.key[1], at)[0] for leg in previous.legs]
    previous.exits = [
        x if np.isfinite(x) and x > 0 else leg.entry
        for x, leg in zip(exits, previous.legs, strict=True)
    ]
    previous.exit_at = at
    previous.close_reason = "flip"
    previous.flagged_reason = None


def _one(index, ticker: str, at) -> tuple[float, np.datetime64]:
    px, ts = lookup_prices(
        index,
        np.array([ticker], dtype=object),
        np.array([at], dtype="datetime64[ns]"),
        np.array([True]),
    )
    return float(px[0]), ts[0]


def fed_funds(macro_rates: pd.DataFrame) -> pd.DataFrame:
    """The fed funds rows of a `macro_rates` frame as the book reads them: (value, as_of), each
    observation once (every cycle's window repeats the same observations)."""
    rows = macro_rates[macro_rates["series"] == "fed_funds"]
    return rows[["value", "as_of"]].drop_duplicates().reset_index(drop=True)


def _rate_at(rates: pd.DataFrame | None, mark_ts: np.ndarray) -> np.ndarray:
    """The fed funds rate (percent) known at each mark: the last published by then; 0 when none
    was known (the marks say so in `rate_pct`)."""
    if rates is None or rates.empty:
        return np.zeros(len(mark_ts))
    rates = rates.dropna(subset=["value"]).sort_values("as_of", kind="stable")
    known = pd.to_datetime(rates["as_of"]).to_numpy(dtype="datetime64[ns]")
    i = np.searchsorted(known, mark_ts, side="right") - 1
    values = rates["value"].to_numpy(dtype=float)
    return np.where(i >= 0, values[np.maximum(i, 0)], 0.0)


def _walk(plans, positions, prices: PriceBook, rules, mark_ts, rate, now64) -> pd.DataFrame:
    """Mark the book at every cycle in time order: accrue, close what is due, trim to the
    cap, open the cycle's new positions in the room left."""
    marks = np.zeros((len(mark_ts), len(MARK_COLUMNS) - 3))
    opening = {}
    for plan in plans:
        opening.setdefault(plan.cycle_ts, []).append(plan)
    mark_px = _mark_prices(plans, prices, mark_ts)
    cash = rules.capital
    open_: list[_Plan] = []
    costs = np.zeros(len(positions))
    pnl = np.zeros(len(positions))
    borrow_rate = rules.borrow_bps_year / 1e4
    prev_t, prev_short, ruined = None, 0.0, False
    for m, t in enumerate(mark_ts):
        interest = borrow = 0.0
        if prev_t is not None:
            days = (t - prev_t) / np.timedelta64(1, "D")
            interest = cash * rate[m - 1] / 100.0 * days / DAY_COUNT
            borrow = prev_short * borrow_rate * days / DAY_COUNT
            cash += interest - borrow
        traded = paid = 0.0
        # Closes known by now (the horizon's exit, a flip's, a flagged last price).
        still = []
        for plan in open_:
            if plan.exit_at is not None and plan.exit_at <= t:
                for leg, px in zip(plan.legs, plan.exits, strict=True):
                    value = leg.shares * px
                    fee = abs(value) * leg.bps / 1e4
                    cash += value - fee
                    traded += abs(value)
                    paid += fee
                    costs[plan.row] += fee
                    pnl[plan.row] += leg.shares * (px - leg.entry) - fee
                _closed(positions, plan, t)
            else:
                still.append(plan)
        open_ = still
        values = [[leg.shares * mark_px[leg.key][m] for leg in p.legs] for p in open_]
        long_v = sum(v for vs in values for v in vs if v > 0)
        short_v = -sum(v for vs in values for v in vs if v < 0)
        equity = cash + long_v - short_v
        if equity <= 0 and not ruined:
            ruined = True  # nothing more is opened; what is open is closed at the mark
            for plan, vs in zip(open_, values, strict=True):
                plan.exits = [mark_px[leg.key][m] for leg in plan.legs]
                plan.close_reason, plan.exit_at = "ruin", t
                cash += sum(vs)
                pnl[plan.row] += sum(
                    leg.shares * (mark_px[leg.key][m] - leg.entry) for leg in plan.legs
                )
                _closed(positions, plan, t)
            open_, long_v, short_v, equity = [], 0.0, 0.0, cash
        gross_value = long_v + short_v
        if equity > 0 and gross_value > rules.gross_cap * equity:
            # Prices pushed the book over the cap: every position trimmed back to it.
            fee_all = sum(
                abs(v) * leg.bps / 1e4
                for p, vs in zip(open_, values, strict=True)
                for leg, v in zip(p.legs, vs, strict=True)
            )
            cap = rules.gross_cap
            keep = cap * (equity - fee_all) / (gross_value - cap * fee_all)
            for p in open_:
                for leg in p.legs:
                    sold = leg.shares * (1 - keep)
                    px = mark_px[leg.key][m]
                    fee = abs(sold * px) * leg.bps / 1e4
                    cash += sold * px - fee
                    traded += abs(sold * px)
                    paid += fee
                    costs[p.row] += fee
                    pnl[p.row] += sold * (px - leg.entry) - fee
                    leg.shares -= sold
            long_v, short_v = long_v * keep, short_v * keep
            equity = cash + long_v - short_v
            gross_value = long_v + short_v
        new = opening.get(t, [])
        if ruined or equity <= 0:
            for p in new:
                positions.at[p.row, "reason"] = "the book's equity was gone: nothing more is opened"
            new = []
        if new and equity > 0:
            wanted = sum(abs(rules.weight(_conf(positions, p))) * len(p.legs) for p in new)
            fees = sum(
                rules.weight(_conf(positions, p)) * leg.bps / 1e4 for p in new for leg in p.legs
            )
            room = max(0.0, rules.gross_cap * equity - gross_value)
            scale = min(1.0, room / (equity * (wanted + rules.gross_cap * fees))) if wanted else 0
            if scale < 1e-9:
                for p in new:
                    positions.at[p.row, "reason"] = (
                        f"the book was full (gross {gross_value / equity:.2f} of a cap of "
                        f"{rules.gross_cap:g})"
                    )
                new = []
            for p in new:
                w = rules.weight(_conf(positions, p))
                for leg, sign in zip(p.legs, p.signs, strict=True):
                    notional = sign * w * scale * equity
                    leg.shares = notional / leg.entry
                    fee = abs(notional) * leg.bps / 1e4
                    cash -= notional + fee
                    traded += abs(notional)
                    paid += fee
                    costs[p.row] += fee
                    pnl[p.row] -= fee
                    if notional > 0:
                        long_v += notional
                    else:
                        short_v -= notional
                _opened(positions, p, w, scale, equity)
                open_.append(p)
            equity = cash + long_v - short_v
            gross_value = long_v + short_v
        marks[m] = [
            cash,
            long_v,
            short_v,
            equity,
            gross_value / equity if equity > 0 else np.nan,
            len(open_),
            traded,
            paid,
            interest,
            borrow,
            rate[m],
        ]
        prev_t, prev_short = t, short_v
    # Positions still open: unrealised P&L at the last mark.
    for plan in open_:
        m = len(mark_ts) - 1
        pnl[plan.row] += sum(leg.shares * (mark_px[leg.key][m] - leg.entry) for leg in plan.legs)
        positions.at[plan.row, "status"] = "open"
    positions = positions.flush()
    opened = positions["status"] != "none"
    positions["costs"] = np.where(opened, costs, np.nan)
    positions["pnl"] = np.where(opened, pnl, np.nan)
    gross_open = positions["notional"].abs() * positions["relative_to"].map(
        lambda r: 2.0 if r else 1.0
    )
    positions["return_pct"] = np.where(opened, 100.0 * pnl / gross_open.replace(0, np.nan), np.nan)
    # The figures of a mark, in MARK_COLUMNS' order after (source, cycle_key, cycle_ts).
    frame = pd.DataFrame(marks, columns=MARK_COLUMNS[3:])
    frame.insert(0, "cycle_ts", mark_ts)
    frame["open_positions"] = frame["open_positions"].astype(int)
    return frame


def _conf(positions: pd.DataFrame, plan: _Plan) -> float:
    return float(positions.at[plan.row, "confidence"])


def _opened(positions, plan: _Plan, weight: float, scale: float, equity: float) -> None:
    legs = plan.legs
    positions.at[plan.row, "status"] = "open"
    positions.at[plan.row, "weight"] = plan.signs[0] * weight
    positions.at[plan.row, "scale"] = scale
    positions.at[plan.row, "notional"] = legs[0].shares * legs[0].entry
    positions.at[plan.row, "shares"] = legs[0].shares
    positions.at[plan.row, "entry_price"] = legs[0].entry
    if len(legs) > 1:
        positions.at[plan.row, "other_shares"] = legs[1].shares
        positions.at[plan.row, "other_entry_price"] = legs[1].entry
    if scale < 1.0 - 1e-9:
        positions.at[plan.row, "reason"] = (
            f"scaled to {scale:.0%} of its size: the book was near its gross cap"
        )


def _closed(positions, plan: _Plan, t) -> None:
    positions.at[plan.row, "status"] = "closed"
    positions.at[plan.row, "close_ts"] = pd.Timestamp(plan.exit_at)
    positions.at[plan.row, "close_reason"] = plan.close_reason
    positions.at[plan.row, "exit_price"] = plan.exits[0]
    if len(plan.exits) > 1:
        positions.at[plan.row, "other_exit_price"] = plan.exits[1]
    if plan.flagged_reason:
        positions.at[plan.row, "flagged"] = True
        before = positions.at[plan.row, "reason"]
        positions.at[plan.row, "reason"] = "; ".join(
            r for r in (before, plan.flagged_reason) if isinstance(r, str)
        )


def _mark_prices(plans, prices: PriceBook, mark_ts) -> dict:
    """Per (series, ticker) a position holds: its price at every mark (the last published by
    the mark's time)."""
    out = {}
    for plan in plans:
        for leg in plan.legs:
            if leg.key in out:
                continue
            series, ticker = leg.key
            index = prices.intraday if series == "intraday" else prices.daily
            px, _ = lookup_prices(
                index,
                np.full(len(mark_ts), ticker, dtype=object),
                mark_ts,
                np.ones(len(mark_ts), dtype=bool),
            )
            out[leg.key] = px
    return out
