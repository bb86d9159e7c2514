"""Market assets: what each cycle could see of quotes, rates and news at its time."""

import dagster as dg

from ...lib.per_cycle import (
    CYCLE_TABLE,
    PER_CYCLE,
    permanent_errors_fail_fast,
    previous_cycle_times,
    refuse_changes_to_sealed,
    run_cycles,
    with_cycle_key,
)
from ...market.universe import TICKERS
from ...platform.metadata import for_run
from ...resources import MarketResource, WarehouseResource

# The network-facing assets retry transient failures (Yahoo or FRED unreachable) with backoff;
# permanent ones (an unknown ticker, a bad row, a source that ends too early) fail at once.
NETWORK_RETRY = dg.RetryPolicy(
    max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def _table(description: str) -> dg.AssetOut:
    """A per-cycle DuckDB table of the market group."""
    return dg.AssetOut(
        description=description,
        metadata=CYCLE_TABLE,
        kinds={"duckdb", "pandas"},
        group_name="market",
    )


@dg.multi_asset(
    outs={
        "market_bars": _table(
            "Each ticker's window of daily bars that had closed by the cycle time (the last 30 "
            "sessions): its first and last session, last bar time and the revision of "
            "`session_bars` it saw. The bars are stored once per session in `session_bars` "
            "(market/session_bars.py; `WINDOW_BARS` puts a window's bars back).",
        ),
        "market_quotes": _table(
            "Each ticker's quote at the cycle's minute: the last intraday trade "
            "(a bar is visible from its end), the regular session's move against the previous "
            "regular close, the pre-market or after-hours move apart, the moves since the open "
            "and since the previous cycle, the place in the day's range; a ticker without "
            "intraday bars is quoted at its last close and marked stale (market/quotes.py).",
        ),
        "macro_rates": _table(
            "Treasury 10Y, 2Y, their spread, fed funds and VIX, each as published "
            "by the cycle time (last observations per series, with publication time).",
        ),
    },
    **PER_CYCLE,
    pool="duckdb",
    retry_policy=NETWORK_RETRY,
)
def market_snapshot(
    context: dg.AssetExecutionContext, market: MarketResource, warehouse: WarehouseResource
):
    from ...market import session_bars

    run = run_cycles(context)
    cycles = [c.time for c in run]
    with permanent_errors_fail_fast():
        daily, rates = market.snapshot(cycles)
        quotes = market.quotes(daily, cycles, previous_cycle_times(run))
    quotes, rates = with_cycle_key(quotes, run), with_cycle_key(rates, run)
    # Each session's bar stored once (append-only revisions); the cycles' rows name windows.
    # A sealed cycle's rows may only be rewritten with what they hold: checked in the same
    # transaction, so a refused run adds no revision either.
    with permanent_errors_fail_fast(), warehouse.connect() as conn:
        windows, new_bars = session_bars.store(conn, daily)
        windows = with_cycle_key(windows, run)
        refuse_changes_to_sealed(
            context,
            conn,
            {"main.market_bars": windows, "main.market_quotes": quotes, "main.macro_rates": rates},
        )
    yield dg.Output(
        windows,
        output_name="market_bars",
        metadata=for_run(
            context,
            "market_bars",
            {
                "source": market.source,
                "cycles": len(cycles),
                "latest_session": str(windows["last_session"].max().date()),
                "session_bars_added": new_bars,
            },
        ),
    )
    sources = quotes["quote_source"].value_counts()
    yield dg.Output(
        quotes,
        output_name="market_quotes",
        metadata=for_run(
            context,
            "market_quotes",
            {
                "source": market.source,
                "quotes_by_source": dg.MetadataValue.json({k: int(v) for k, v in sources.items()}),
                "stale_quotes": int(quotes["stale"].sum()),
            },
        ),
    )
    yield dg.Output(
        rates,
        output_name="macro_rates",
        metadata=for_run(context, "macro_rates", {"source": market.source}),
    )


@dg.asset(
    group_name="market",
    **PER_CYCLE,
    metadata={**CYCLE_TABLE, "allow_empty": True},
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    retry_policy=NETWORK_RETRY,
    description="The news each cycle reads: the archive's items (`news_archive`, every item "
    "stored once) visible at the cycle time and within the day before it: the newest 20, and "
    "the newest two of each ticker and of the economy beyond them. An item "
    "is visible from the latest of its publication, any later time its feed stamps on it and "
    "its first fetch, so a backfill or a re-run reads what the live cycle read. The run first "
    "adds what the source serves now (the simulator's own headlines; Yahoo's latest stories); "
    "a feed that fails is skipped and named in the metadata, never failing the cycle. The "
    "run also stores the release calendar the cycles know (`release_calendar`: FOMC, CPI, "
    "jobs reports; the minds see what is due and what just came out).",
)
def news_items(
    context: dg.AssetExecutionContext, market: MarketResource, warehouse: WarehouseResource
) -> dg.Output:
    from ...market import news_archive, release_calendar

    run = run_cycles(context)
    cycles = [c.time for c in run]
    with permanent_errors_fail_fast():
        fetched = market.news(TICKERS, cycles)
        releases = market.releases(cycles)
    notes = list(fetched.attrs.get("notes", []))
    # What was fetched is kept whatever follows (a live fetch cannot be repeated); the cycles'
    # views are checked against their sealed ones before anything replaces them.
    with warehouse.connect() as conn:
        added = news_archive.store(conn, fetched)
        releases_added = release_calendar.store(conn, releases)
    with warehouse.connect() as conn:
        view = with_cycle_key(news_archive.visible(conn, cycles), run)
        refuse_changes_to_sealed(context, conn, {"main.news_items": view})
    quiet = len(set(cycles) - set(view["cycle_ts"]))
    return dg.Output(
        view,
        metadata=for_run(
            context,
            "news_items",
            {
                "news_source": market.source,
                "fetched": len(fetched),
                "added_to_archive": added,
                "releases_known": len(releases),
                "releases_added": releases_added,
                "items_seen": len(view),
                "cycles_without_news": quiet,
                "archive_note": (
                    f"the archive holds no item visible in the day before {quiet} of "
                    f"{len(cycles)} cycles"
                    if quiet
                    else "every cycle has news"
                ),
                "feeds_skipped": dg.MetadataValue.json(notes),
            },
        ),
    )
