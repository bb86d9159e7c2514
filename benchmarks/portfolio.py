"""Paper portfolios: every source's positions and marks, the benchmarks and the metrics table,
over a year of the default cadence (16 cycles a session, four sources each calling every cycle:
about 18,000 positions) on real daily prices (../shared/data/market, or the simulator without
it). Target: <= 2 s on 2 cores."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _common import arguments, report
from scoring import TICKERS, closes_frame

SOURCES = ["synthesis", "macro", "flow", "contrarian"]
CYCLE_TIMES = [(9, 15)] + [(h, m) for h in range(9, 16) for m in (15, 45)][1:] + [(19, 15)]


def synthetic_year(closes: pd.DataFrame, sessions: int, rng: np.random.Generator) -> pd.DataFrame:
    """Each source calls a random subject every cycle of `sessions` sessions (horizons of 1 to 5
    sessions), walked through the standing rule as the loop records them."""
    from workshop_dagster.predictions.standing_calls import StandingCalls

    days = np.sort(closes.loc[closes["ticker"] == "SPY", "bar_ts"].dt.normalize().unique())
    days = days[-(sessions + 6) :]
    rows = []
    for d in range(sessions):
        day = pd.Timestamp(days[d])
        for h, m in CYCLE_TIMES:
            ts = day + pd.Timedelta(hours=h, minutes=m)
            for source in SOURCES:
                k = int(rng.integers(1, 6))
                pair = rng.random() < 0.2
                ticker, other = rng.choice(TICKERS, 2, replace=False)
                rows.append(
                    {
                        "cycle_key": f"{ts:%Y-%m-%d-%H:%M}",
                        "cycle_ts": ts,
                        "source": source,
                        "parse_status": "parsed",
                        "ticker": ticker,
                        "relative_to": other if pair else None,
                        "direction": rng.choice(["up", "down"]),
                        "confidence": float(rng.choice([0.55, 0.6, 0.65, 0.7])),
                        "horizon_sessions": k,
                        "horizon_end": pd.Timestamp(days[d + k]) + pd.Timedelta(hours=16),
                        "price_series": "daily",
                    }
                )
    return pd.DataFrame(StandingCalls().walk(rows))


def main() -> None:
    from workshop_dagster.portfolio.every_source import every_portfolio, metrics_table
    from workshop_dagster.portfolio.rules import PortfolioRules
    from workshop_dagster.predictions.scoring import PriceBook

    args = arguments(__doc__)
    sessions = 21 if args.tiny else 252
    closes, spec = closes_frame()
    calls = synthetic_year(closes, sessions, np.random.default_rng(5))
    rules = PortfolioRules()
    now = calls["horizon_end"].max() + pd.Timedelta(days=1)
    rates = pd.DataFrame({"as_of": [calls["cycle_ts"].min()], "value": [4.0]})
    print(f"prices: {spec}; {len(calls):,} calls over {sessions} sessions", flush=True)
    # The figures' libraries load once per process (the rollups run's): timed apart.
    loading = time.perf_counter()
    import empyrical  # noqa: F401
    import scipy.stats  # noqa: F401

    print(f"importing empyrical and scipy.stats: {time.perf_counter() - loading:.2f} s")
    started = time.perf_counter()
    book = every_portfolio(calls, PriceBook.of(closes), rules, now, rates)
    built = time.perf_counter() - started
    table = metrics_table(book, rules, block=5)
    total = time.perf_counter() - started
    opened = int((book.positions["status"] != "none").sum())
    print(
        f"{opened:,} positions, {len(book.marks):,} marks: portfolios {built:.2f} s, "
        f"metrics {total - built:.2f} s",
        flush=True,
    )
    best = table.sort_values("sharpe", ascending=False, na_position="last").iloc[0]
    print(f"best Sharpe: {best['source']} {best['sharpe']:.2f} (random calls: luck)")
    report("portfolio", total, f"s for {opened:,} positions", total / 2.0, "the 2 s target")


if __name__ == "__main__":
    main()
