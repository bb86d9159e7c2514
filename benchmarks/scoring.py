"""Scoring: score and roll up 10k, 100k and 1M synthetic calls on real daily prices (the csv
history in ../shared/data/market, or the simulator without it), against one bare DuckDB ASOF-join
query doing the entry and exit lookups, hit and Brier in the same run."""

from __future__ import annotations

import time

import duckdb
import numpy as np
import pandas as pd
from _common import SHARED_MARKET, arguments, report

TICKERS = ["SPY", "QQQ", "IWM", "DIA", "TLT", "GLD", "HYG", "XLF", "XLE", "NVDA", "AAPL", "MSFT"]
BASELINE_SQL = """
with legs as (
    select c.id, c.confidence, c.direction, c.cycle_ts, c.horizon_end, c.ticker, c.relative_to
    from calls c
),
entry_a as (
    select l.id, p.close as px from legs l
    asof join closes p on p.ticker = l.ticker and l.cycle_ts >= p.bar_ts
),
exit_a as (
    select l.id, p.close as px from legs l
    asof join closes p on p.ticker = l.ticker and l.horizon_end + interval 15 minute >= p.bar_ts
),
entry_b as (
    select l.id, p.close as px from legs l
    asof join closes p on p.ticker = l.relative_to and l.cycle_ts >= p.bar_ts
),
exit_b as (
    select l.id, p.close as px from legs l
    asof join closes p on p.ticker = l.relative_to and l.horizon_end + interval 15 minute >= p.bar_ts
),
moves as (
    select l.id, l.confidence, l.direction,
        100 * (xa.px / ea.px - 1) - coalesce(100 * (xb.px / eb.px - 1), 0) as realized
    from legs l
    join entry_a ea using (id) join exit_a xa using (id)
    left join entry_b eb using (id) left join exit_b xb using (id)
),
scored as (
    select id, confidence,
        case when direction = 'up' then realized > 0 else realized < 0 end as hit
    from moves
)
select count(*) as n, avg(hit::int) as hit_rate,
    avg(power(confidence - hit::int, 2)) as brier
from scored
"""


def closes_frame() -> pd.DataFrame:
    from workshop_dagster.market.asof import publish_bars
    from workshop_dagster.market.sources import open_source

    spec = f"csv:{SHARED_MARKET}" if (SHARED_MARKET / "daily").is_dir() else "sim"
    bars = open_source(spec).daily_bars(
        TICKERS, pd.Timestamp("2018-01-01"), pd.Timestamp("2026-08-21")
    )
    return publish_bars(bars)[["ticker", "bar_ts", "close"]], spec


def synthetic_calls(n: int, closes: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """n parsed calls on random subjects, cycles and horizons (1, 2, 5 or 10 sessions)."""
    session_close = np.sort(closes.loc[closes["ticker"] == "SPY", "bar_ts"].unique())
    i = rng.integers(0, len(session_close) - 11, n)
    k = rng.choice([1, 2, 5, 10], n)
    cycle_ts = session_close[i] + np.timedelta64(195, "m")  # 19:15 after the 16:00 close
    ticker = rng.choice(TICKERS, n)
    other = rng.choice(TICKERS, n)
    pair = (rng.random(n) < 0.3) & (other != ticker)
    stated = rng.choice([0.35, 0.45, 0.55, 0.65, 0.75], n)
    return pd.DataFrame(
        {
            "cycle_key": pd.Series(cycle_ts).dt.strftime("%Y-%m-%d-%H:%M"),
            "cycle_ts": cycle_ts,
            "source": rng.choice(["synthesis", "macro", "flow", "contrarian"], n),
            "regime": rng.choice(["risk_on", "transition", "risk_off"], n),
            "parse_status": "parsed",
            "ticker": ticker,
            "relative_to": np.where(pair, other, None),
            "direction": rng.choice(["up", "down"], n),
            "horizon_sessions": k,
            "horizon_end": session_close[i + k],
            # The number a source stated, and the probability the call is scored at (never
            # under 0.5: docs/scoring.md), as the loop records them.
            "conviction": stated,
            "confidence": np.maximum(stated, 0.5),
            "band_low_pct": np.nan,
            "band_high_pct": np.nan,
            "subject_kind": np.where(pair, "pair", "index"),
            "timeframe_bucket": np.select([k <= 2, k <= 5], ["1-2d", "3-5d"], "1-4w"),
        }
    )


def ours(calls: pd.DataFrame, closes: pd.DataFrame) -> float:
    from workshop_dagster.predictions.scoring import score_calls
    from workshop_dagster.store.sql_project import models_by_name, run_in_memory

    started = time.perf_counter()
    scored = score_calls(calls, closes, now=pd.Timestamp("2026-11-01"))
    models = models_by_name()
    run_in_memory(
        [models[m] for m in ("track_record", "rules", "calibration")],
        {"prediction_scores": scored},
    )
    return time.perf_counter() - started


def baseline(calls: pd.DataFrame, closes: pd.DataFrame) -> float:
    conn = duckdb.connect()
    frame = calls[["cycle_ts", "horizon_end", "ticker", "relative_to", "direction", "confidence"]]
    conn.register("calls_in", frame.assign(id=np.arange(len(frame))))
    conn.register("closes_in", closes)
    conn.execute("create table calls as select * from calls_in")
    conn.execute("create table closes as select * from closes_in order by ticker, bar_ts")
    started = time.perf_counter()
    conn.execute(BASELINE_SQL).fetchall()
    return time.perf_counter() - started


def main() -> None:
    args = arguments(__doc__)
    sizes = [1_000, 10_000] if args.tiny else [10_000, 100_000, 1_000_000]
    closes, spec = closes_frame()
    rng = np.random.default_rng(11)
    print(f"prices: {spec}, {len(closes)} closes")
    rows = []
    for n in sizes:
        calls = synthetic_calls(n, closes, rng)
        t_ours, t_base = ours(calls, closes), baseline(calls, closes)
        rows.append((n, t_ours, t_base))
        print(
            f"{n:>9,} calls: score + roll up {t_ours:7.2f} s ({1e6 * t_ours / n:6.1f} us/call)   "
            f"bare ASOF query {t_base:6.2f} s   ratio {t_ours / t_base:5.2f}",
            flush=True,
        )
    (n0, t0, _), (n1, t1, b1) = rows[-2], rows[-1]
    growth = (t1 / t0) / (n1 / n0)
    print(f"time per call, largest vs next size: {growth:.2f} (1.00 = linear)")
    report(
        "scoring",
        t1,
        f"s for {n1:,} calls",
        t1 / b1,
        "one bare DuckDB ASOF-join query; target <= 3, linear",
    )


if __name__ == "__main__":
    main()
