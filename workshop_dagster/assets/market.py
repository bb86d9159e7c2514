"""Market assets: what each cycle could see of quotes, rates and news at its time."""

from contextlib import contextmanager

import dagster as dg
import pandas as pd

from ..market.errors import MarketDataError
from ..market.universe import TICKERS
from ..partitions import cycle_partitions, key_to_time, time_to_key
from ..resources import MarketResource

PARTITIONS = cycle_partitions()
# The network-facing assets retry transient failures (Yahoo or FRED unreachable) with backoff;
# permanent ones (an unknown ticker, a source that ends too early) fail at once.
NETWORK_RETRY = dg.RetryPolicy(
    max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


@contextmanager
def permanent_errors_fail_fast():
    try:
        yield
    except MarketDataError as exc:
        if exc.transient:
            raise
        problems = getattr(exc, "problems", None)
        metadata = (
            {"bad_bars": dg.MetadataValue.json([p.as_row() for p in problems[:200]])}
            if problems
            else {}
        )
        raise dg.Failure(description=str(exc), metadata=metadata, allow_retries=False) from exc


CYCLE_TABLE = {"partition_expr": "cycle_ts"}


def cycle_times(context: dg.AssetExecutionContext) -> list[pd.Timestamp]:
    """The cycle times of this run: one partition, or a whole range in a single-run backfill."""
    return [key_to_time(k) for k in context.partition_keys]


def with_cycle_key(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    keys = [time_to_key(t) for t in out["cycle_ts"]]
    out.insert(0, "cycle_key", pd.Series(keys, index=out.index, dtype=object))
    return out


@dg.multi_asset(
    outs={
        "market_bars": dg.AssetOut(
            description="Daily OHLCV bars of the universe that had closed by the cycle time "
            "(last 30 sessions per ticker).",
            metadata=CYCLE_TABLE,
            kinds={"duckdb", "pandas"},
            group_name="market",
        ),
        "macro_rates": dg.AssetOut(
            description="Treasury 10Y, 2Y, their spread, fed funds and VIX, each as published "
            "by the cycle time (last observations per series, with publication time).",
            metadata=CYCLE_TABLE,
            kinds={"duckdb", "pandas"},
            group_name="market",
        ),
    },
    partitions_def=PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    retry_policy=NETWORK_RETRY,
)
def market_snapshot(context: dg.AssetExecutionContext, market: MarketResource):
    cycles = cycle_times(context)
    with permanent_errors_fail_fast():
        bars, rates = market.snapshot(cycles)
    last = bars.groupby("ticker")["session_date"].max()
    yield dg.Output(
        with_cycle_key(bars),
        output_name="market_bars",
        metadata={
            "source": market.source,
            "cycles": len(cycles),
            "latest_session": str(last.max().date()),
        },
    )
    yield dg.Output(
        with_cycle_key(rates), output_name="macro_rates", metadata={"source": market.source}
    )


@dg.asset(
    group_name="market",
    partitions_def=PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={**CYCLE_TABLE, "allow_empty": True},
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    retry_policy=NETWORK_RETRY,
    description="Headlines published in the day before the cycle (yfinance live). Offline "
    "sources (sim, csv) publish no news: the table is then empty, and its metadata says so.",
)
def news_items(context: dg.AssetExecutionContext, market: MarketResource) -> dg.Output:
    with permanent_errors_fail_fast():
        news = with_cycle_key(market.news(TICKERS, cycle_times(context)))
    offline = market.source != "yfinance"
    return dg.Output(
        news,
        metadata={
            "news_source": "none: offline market source publishes no news"
            if offline
            else "yfinance",
            "items": len(news),
        },
    )
