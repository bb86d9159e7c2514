"""The daily bars a range of cycles sees, each bar once, with each cycle's window as row bounds
(`asof.daily_view` makes it; the quotes and `session_bars` read it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DailyView:
    """The daily bars a range of cycles sees, each bar once.

    `bars`: every bar some cycle sees (ticker, session_date, bar_ts, open, high, low, close,
    volume, source), in ticker and publication order. `windows`: per cycle and ticker, the rows
    of `bars` it sees, `start` to `stop` (the last 30 published by its time). A year of 16
    cycles a day sees ~4,800 bars through 68,000 windows; repeated per cycle they were 2M rows
    (`per_cycle` still gives that frame, for tests and audits)."""

    bars: pd.DataFrame
    windows: pd.DataFrame

    def per_cycle(self, tickers: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per cycle, ticker (of `tickers`, default all) and visible session: cycle_ts,
        ticker, session_date, bar_ts, open, high, low, close, volume, source."""
        w = self.windows
        if tickers is not None:
            w = w[w["ticker"].isin(tickers)]
        starts, stops = w["start"].to_numpy(), w["stop"].to_numpy()
        out = self.bars.iloc[window_rows(starts, stops)].reset_index(drop=True)
        out.insert(0, "cycle_ts", np.repeat(w["cycle_ts"].to_numpy(), stops - starts))
        return out[BAR_COLUMNS].sort_values(["cycle_ts", "ticker", "bar_ts"], ignore_index=True)

    def last_bars(self) -> pd.DataFrame:
        """Per cycle and ticker, the last bar it sees: cycle_ts, ticker, session_date, bar_ts,
        close."""
        last = self.bars.iloc[self.windows["stop"].to_numpy() - 1]
        return pd.DataFrame(
            {
                "cycle_ts": self.windows["cycle_ts"].to_numpy(),
                "ticker": self.windows["ticker"].to_numpy(),
                "session_date": last["session_date"].to_numpy(),
                "bar_ts": last["bar_ts"].to_numpy(),
                "close": last["close"].to_numpy(),
            }
        )


BAR_COLUMNS = [
    "cycle_ts",
    "ticker",
    "session_date",
    "bar_ts",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "source",
]


def window_rows(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The row positions of windows `starts[i]` to `stops[i]`, one window after the other."""
    counts = stops - starts
    return np.repeat(stops - counts.cumsum(), counts) + np.arange(counts.sum())
