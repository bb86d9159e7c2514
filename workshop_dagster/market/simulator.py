"""A seeded market simulator for the whole universe, so the loop runs with no network.

The market switches between regimes (risk_on, transition, risk_off) on a Markov chain; returns come
from a factor model (market, size, growth, rates, energy, gold, credit) with Student-t shocks, so
moves are correlated and fat-tailed, correlations rise in risk-off, and persistent factor drifts make
rotations (small caps vs mega caps, growth vs value) actually happen.

Determinism: the path is always simulated from a fixed epoch, drawing each calendar year's shocks
from a generator seeded by (seed, year). A session's bars therefore depend only on the seed and the
sessions before it, never on how far ahead or in what order cycles are computed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from . import calendar
from .sim_news import EPOCH
from .universe import TICKERS

REGIMES = ("risk_on", "transition", "risk_off")
FACTORS = ("market", "size", "growth", "rates", "energy", "gold", "credit")

# Daily transition probabilities between regimes (rows: from, columns: to).
TRANSITIONS = np.array(
    [
        [0.985, 0.012, 0.003],
        [0.040, 0.930, 0.030],
        [0.012, 0.050, 0.938],
    ]
)
MARKET_DRIFT = np.array([0.0007, 0.0000, -0.0016])
MARKET_VOL = np.array([0.0075, 0.0120, 0.0220])
VIX_TARGET = np.array([14.0, 19.0, 30.0])
OTHER_FACTOR_VOL = {"size": 0.005, "growth": 0.006, "energy": 0.012, "gold": 0.008, "credit": 0.002}

# (start price, loadings on FACTORS, idiosyncratic daily vol, base volume)
INSTRUMENTS: dict[str, tuple[float, tuple[float, ...], float, float]] = {
    "SPY": (268.0, (1.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00), 0.0010, 80e6),
    "QQQ": (157.0, (1.10, -0.10, 0.60, 0.05, 0.00, 0.00, 0.00), 0.0015, 45e6),
    "IWM": (153.0, (1.15, 1.00, -0.10, 0.25, 0.00, 0.00, 0.10), 0.0025, 30e6),
    "DIA": (248.0, (0.90, 0.00, -0.20, 0.00, 0.05, 0.00, 0.00), 0.0018, 4e6),
    "AAPL": (41.0, (1.10, -0.20, 0.70, 0.00, 0.00, 0.00, 0.00), 0.0120, 90e6),
    "MSFT": (86.0, (1.00, -0.20, 0.70, 0.00, 0.00, 0.00, 0.00), 0.0110, 30e6),
    "NVDA": (5.0, (1.60, -0.20, 1.30, 0.00, 0.00, 0.00, 0.00), 0.0250, 400e6),
    "AMZN": (60.0, (1.20, -0.20, 0.80, 0.00, 0.00, 0.00, 0.00), 0.0160, 70e6),
    "GOOGL": (54.0, (1.10, -0.20, 0.70, 0.00, 0.00, 0.00, 0.00), 0.0150, 35e6),
    "META": (181.0, (1.30, -0.20, 0.90, 0.00, 0.00, 0.00, 0.00), 0.0200, 20e6),
    "TSLA": (21.0, (1.80, 0.00, 1.20, 0.00, 0.00, 0.00, 0.00), 0.0320, 100e6),
    "XLE": (72.0, (0.80, 0.10, -0.40, -0.10, 1.00, 0.00, 0.00), 0.0060, 15e6),
    "XLF": (28.0, (1.10, 0.20, -0.30, -0.30, 0.00, 0.00, 0.30), 0.0050, 45e6),
    "TLT": (126.0, (-0.20, 0.00, 0.00, 1.00, 0.00, 0.00, 0.00), 0.0020, 12e6),
    "GLD": (125.0, (0.05, 0.00, 0.00, 0.20, 0.00, 1.00, 0.00), 0.0030, 8e6),
    "HYG": (88.0, (0.30, 0.00, 0.00, 0.20, 0.00, 0.00, 0.80), 0.0012, 20e6),
}
TLT_DURATION = 17.0
STUDENT_DF = 4.0


def _t_shocks(rng: np.random.Generator, shape) -> np.ndarray:
    """Unit-variance Student-t draws: fat tails with the same scale as a standard normal."""
    return rng.standard_t(STUDENT_DF, size=shape) / np.sqrt(STUDENT_DF / (STUDENT_DF - 2.0))


class MarketSimulation:
    """One simulated history from EPOCH through the end of `last_year`."""

    def __init__(self, seed: int, last_year: int):
        days = calendar.sessions(EPOCH, pd.Timestamp(year=last_year, month=12, day=31))
        self.seed = seed
        self.sessions = days
        self._simulate()

    def _simulate(self) -> None:
        days = self.sessions
        n = len(days)
        names = [t for t in TICKERS if t != "VIX"]
        k = len(names)
        loadings = np.array([INSTRUMENTS[t][1] for t in names])  # k x factors
        idio_vol = np.array([INSTRUMENTS[t][2] for t in names])

        # Per-year draws keep earlier sessions independent of how far ahead we simulate.
        years = days.year.to_numpy()
        blocks = []
        for year in np.unique(years):
            m = int((years == year).sum())
            rng = np.random.default_rng([self.seed, int(year)])
            blocks.append(
                {
                    "u_regime": rng.random(m),
                    "factor": _t_shocks(rng, (m, len(FACTORS))),
                    "idio": _t_shocks(rng, (m, k)),
                    "drift_noise": rng.standard_normal((m, 2)),
                    "rates": _t_shocks(rng, (m, 2)),
                    "vix": rng.standard_normal(m),
                    "gap": rng.standard_normal((m, k + 1)),
                    "range": np.abs(rng.standard_normal((m, k + 1, 2))),
                    "volume": rng.standard_normal((m, k)),
                    "fed": rng.random(m),
                }
            )
        draw = {key: np.concatenate([b[key] for b in blocks]) for key in blocks[0]}

        regime = np.zeros(n, dtype=int)
        factor_ret = np.zeros((n, len(FACTORS)))
        ust10 = np.zeros(n)
        ust2 = np.zeros(n)
        fed = np.zeros(n)
        vix = np.zeros(n)
        state, y10, y2, target, v = 0, 2.46, 1.92, 1.375, 10.0
        size_mu = growth_mu = 0.0
        for i in range(n):
            if i:
                cum = np.cumsum(TRANSITIONS[state])
                state = int(np.searchsorted(cum, draw["u_regime"][i], side="right"))
                state = min(state, 2)
            regime[i] = state
            # Persistent drifts in size and growth: the source of multi-week rotations.
            size_mu = 0.97 * size_mu + 0.00035 * draw["drift_noise"][i, 0]
            growth_mu = 0.97 * growth_mu + 0.00035 * draw["drift_noise"][i, 1]
            z = draw["factor"][i]
            f = np.zeros(len(FACTORS))
            f[0] = MARKET_DRIFT[state] + MARKET_VOL[state] * z[0]
            f[1] = size_mu - (0.002 if state == 2 else 0.0) + OTHER_FACTOR_VOL["size"] * z[1]
            f[2] = growth_mu + OTHER_FACTOR_VOL["growth"] * z[2]
            # Rates: yields mean-revert; in risk-off they fall (flight to quality).
            rate_vol = 0.07 if state == 2 else 0.045
            d10 = (
                0.01 * (4.0 - y10) - (0.015 if state == 2 else 0.0) + rate_vol * draw["rates"][i, 0]
            )
            d2 = 0.8 * d10 + 0.02 * (target + 0.15 - y2) + 0.03 * draw["rates"][i, 1]
            y10, y2 = max(0.3, y10 + d10), max(0.1, y2 + d2)
            f[3] = -TLT_DURATION * d10 / 100.0
            f[4] = 0.3 * f[0] + OTHER_FACTOR_VOL["energy"] * z[4]
            f[5] = (0.002 if state == 2 else 0.0) + OTHER_FACTOR_VOL["gold"] * z[5]
            f[6] = 0.2 * f[0] + OTHER_FACTOR_VOL["credit"] * z[6]
            factor_ret[i] = f
            # The Fed meets about every 32 sessions and leans against the regime.
            if i % 32 == 31:
                u = draw["fed"][i]
                if state == 2 and u < 0.6:
                    target = max(0.125, target - 0.25)
                elif state == 0 and u < 0.25 and y2 > target:
                    target = min(6.0, target + 0.25)
            fed[i] = target
            v = max(
                9.0,
                v
                + 0.12 * (VIX_TARGET[state] - v)
                - 250.0 * f[0] * (v / 20.0)
                + 0.9 * draw["vix"][i],
            )
            ust10[i], ust2[i], vix[i] = y10, y2, v

        returns = factor_ret @ loadings.T + idio_vol * draw["idio"]
        start = np.array([INSTRUMENTS[t][0] for t in names])
        close = start * np.exp(np.cumsum(returns, axis=0))
        prev = np.vstack([start, close[:-1]])
        day_vol = MARKET_VOL[regime][:, None] * np.abs(loadings[:, 0]) + idio_vol
        open_ = prev * np.exp(0.3 * returns + 0.2 * day_vol * draw["gap"][:, :k])
        high = np.maximum(open_, close) * np.exp(0.5 * day_vol * draw["range"][:, :k, 0])
        low = np.minimum(open_, close) * np.exp(-0.5 * day_vol * draw["range"][:, :k, 1])
        base_volume = np.array([INSTRUMENTS[t][3] for t in names])
        volume = base_volume * np.exp(0.3 * draw["volume"] + 0.5 * (regime == 2)[:, None])

        vix_prev = np.concatenate([[10.0], vix[:-1]])
        vix_open = vix_prev * np.exp(0.02 * draw["gap"][:, k])
        vix_high = np.maximum(vix_open, vix) * np.exp(0.03 * draw["range"][:, k, 0])
        vix_low = np.minimum(vix_open, vix) * np.exp(-0.03 * draw["range"][:, k, 1])

        frames = []
        for j, t in enumerate(names):
            frames.append(
                pd.DataFrame(
                    {
                        "ticker": t,
                        "session_date": days,
                        "open": open_[:, j],
                        "high": high[:, j],
                        "low": low[:, j],
                        "close": close[:, j],
                        "volume": np.round(volume[:, j]),
                    }
                )
            )
        frames.append(
            pd.DataFrame(
                {
                    "ticker": "VIX",
                    "session_date": days,
                    "open": vix_open,
                    "high": vix_high,
                    "low": vix_low,
                    "close": vix,
                    "volume": 0.0,
                }
            )
        )
        self.bars = pd.concat(frames, ignore_index=True)
        r10, r2 = np.round(ust10, 2), np.round(ust2, 2)
        self.rates = pd.concat(
            [
                pd.DataFrame({"code": "DGS10", "obs_date": days, "value": r10}),
                pd.DataFrame({"code": "DGS2", "obs_date": days, "value": r2}),
                pd.DataFrame({"code": "T10Y2Y", "obs_date": days, "value": np.round(r10 - r2, 2)}),
                pd.DataFrame({"code": "DFF", "obs_date": days, "value": np.round(fed + 0.08, 2)}),
            ],
            ignore_index=True,
        )
        self.regimes = pd.Series([REGIMES[s] for s in regime], index=days, name="regime")


@lru_cache(maxsize=4)
def simulation(seed: int, last_year: int) -> MarketSimulation:
    return MarketSimulation(seed, last_year)


class SimulatedMarket:
    """The `sim` market source."""

    name = "sim"

    def __init__(self, seed: int = 7):
        self.seed = seed

    def _sim(self, end) -> MarketSimulation:
        end = pd.Timestamp(end)
        if end < EPOCH:
            raise ValueError(
                f"the simulator starts on {EPOCH.date()}; nothing to show for {end.date()}"
            )
        return simulation(self.seed, max(end.year, pd.Timestamp.now().year))

    def daily_bars(self, tickers, start, end) -> pd.DataFrame:
        bars = self._sim(end).bars
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        mask = bars["ticker"].isin(list(tickers)) & bars["session_date"].between(start, end)
        return bars.loc[mask].reset_index(drop=True)

    def rate_observations(self, codes, start, end) -> pd.DataFrame:
        rates = self._sim(end).rates
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        mask = rates["code"].isin(list(codes)) & rates["obs_date"].between(start, end)
        return rates.loc[mask].reset_index(drop=True)

    def intraday_bars(self, tickers, start, end) -> pd.DataFrame:
        """5-minute bars inside the daily bars (`sim_intraday`), resolution "5m"."""
        from .sim_intraday import intraday_bars

        daily = self.daily_bars(tickers, pd.Timestamp(start) - pd.Timedelta(days=10), end)
        bars = intraday_bars(daily, self.seed, tickers, start, end)
        return bars.assign(resolution="5m", file="sim", line=0)

    def news(self, tickers, start, end) -> pd.DataFrame:
        """Headlines of the simulation's own shocks, Fed decisions and regime switches
        (`sim_news`), published in [start, end]."""
        from .sim_news import headlines

        return headlines(self._sim(end), start, end)

    def releases(self, start, end) -> pd.DataFrame:
        """The simulated Fed's meetings (`sim_news.fed_meetings`) as a release calendar."""
        from .release_calendar import in_span
        from .sim_news import fed_calendar

        self._sim(end)  # the simulator's epoch check
        return in_span(fed_calendar(pd.Timestamp(end) + pd.Timedelta(days=14)), start, end)
