"""A post's position in a reader's words: what its call opened, and what it made once closed."""

from __future__ import annotations

import pandas as pd

CLOSES = {
    "horizon": "at its horizon",
    "flip": "when the source turned the other way",
    "last price by the horizon": "at the last price known by its horizon",
    "ruin": "when the book's equity was gone",
}


def _money(value: float) -> str:
    sign = "−" if value < 0 else "+"
    return f"{sign}${abs(value):,.2f}"


def _when(ts) -> str:
    return f"{pd.Timestamp(ts):%Y-%m-%d %H:%M}"


def position_words(row: dict | None, restates: str | None = None) -> str:
    """One sentence for a post: the position a call opened (`paper_positions` row), its size,
    entry, and once closed its exit and P&L after costs; or why it opened nothing. For a
    restatement, `row` is the restated call's and `restates` its cycle."""
    if restates:
        when = f"{restates[:10]} {restates[11:16]}"
        if row is None or row["status"] == "none":
            why = f": {row['reason']}" if row is not None else ""
            return f"No position: this restates the call of {when}, which opened none{why}."
        return f"Position: this restates the call of {when}; its position stays as it was."
    if row is None:
        return ""
    if row["status"] == "none":
        return f"No position: {row['reason']}."
    legs = (
        f"long {row['ticker']}, short {row['relative_to']}"
        if isinstance(row.get("relative_to"), str) and row["relative_to"]
        else f"{'long' if row['notional'] > 0 else 'short'} {row['ticker']}"
    )
    size = abs(float(row["weight"]) * float(row["scale"]))
    prices = f"{row['entry_price']:,.2f}"
    if not pd.isna(row.get("other_entry_price", float("nan"))):
        prices += f" and {row['other_entry_price']:,.2f}"
    text = f"Position: {legs}, {size:.1%} of equity a leg, at {prices} ({_when(row['entry_ts'])})"
    if row["status"] == "open":
        return f"{text}; open, {_money(row['pnl'])} so far after ${row['costs']:,.2f} of costs."
    exits = f"{row['exit_price']:,.2f}"
    if not pd.isna(row.get("other_exit_price", float("nan"))):
        exits += f" and {row['other_exit_price']:,.2f}"
    text += (
        f"; closed {CLOSES.get(row['close_reason'], row['close_reason'])} at "
        f"{exits} ({_when(row['close_ts'])}): {_money(row['pnl'])} "
        f"({row['return_pct']:+.2f}%) after ${row['costs']:,.2f} of costs"
    )
    if row.get("flagged"):
        text += f" (flagged: {row['reason']})"
    return text + "."
