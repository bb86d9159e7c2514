"""Paper portfolios (group track_record, rebuilt by the rollups): what following each source's
published calls would have earned, after costs, against buy-and-hold (portfolio/)."""

import dagster as dg

from ...cycle_assets import SETTINGS, permanent_errors_fail_fast
from ...resources import MarketResource, WarehouseResource

# pandas and the domain modules are imported in the bodies: the code location's load imports
# no pandas (docs/performance.md).

POSITIONS_DESCRIPTION = (
    "One row per new call of every source and of the always-up and momentum baselines: the "
    "position it opened (fractional Kelly on the published probability, capped; pairs long/short "
    "at equal value) at the entry the scoring uses, closed at its exit or at a flip, with its "
    "costs and P&L; or why it opened nothing. Rules: portfolio/rules.py, docs/scoring.md."
)
EQUITY_DESCRIPTION = (
    "Every portfolio marked at every cycle from the prices published by then: cash (earning the "
    "fed funds rate the cycle knew), long and short value, equity, gross exposure, what was "
    "traded and paid; with buy-and-hold of the benchmark and of the subjects called, and cash."
)
PERFORMANCE_DESCRIPTION = (
    "Per portfolio: return, volatility, Sharpe and Sortino over cash, drawdown and its length, "
    "Calmar, alpha and beta (empyrical), exposure, turnover, costs, the positions' hit rate, "
    "the Sharpe difference against buy-and-hold with a block-bootstrap interval, and the "
    "probabilistic and deflated Sharpe."
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "paper_positions",
            group_name="track_record",
            deps=["prediction_scores", "predictions", "macro_rates", "cycle_features"],
            kinds={"duckdb", "pandas"},
            description=POSITIONS_DESCRIPTION,
        ),
        dg.AssetSpec(
            "paper_equity",
            group_name="track_record",
            deps=["paper_positions"],
            kinds={"duckdb", "pandas"},
            description=EQUITY_DESCRIPTION,
        ),
        dg.AssetSpec(
            "paper_performance",
            group_name="track_record",
            deps=["paper_equity"],
            kinds={"duckdb", "pandas"},
            description=PERFORMANCE_DESCRIPTION,
        ),
    ],
    pool="duckdb",
)
def paper_portfolios(
    context: dg.AssetExecutionContext, market: MarketResource, warehouse: WarehouseResource
):
    import pandas as pd

    from ...market import calendar
    from ...portfolio.every_source import every_portfolio, metrics_table
    from ...predictions.scoring import PriceBook, minute_legs
    from ...variants import load_variants
    from ...warehouse import table_exists

    rules = load_variants()[SETTINGS.variant].portfolio_rules(SETTINGS.portfolio)
    now = calendar.now_ny()
    with warehouse.connect() as conn:
        if not table_exists(conn, "predictions"):
            raise dg.Failure("no predictions yet: materialize a cycle first")
        predictions = conn.execute("select * from predictions order by cycle_ts").fetchdf()
        rates = conn.execute(
            "select distinct value, as_of from macro_rates where series = 'fed_funds'"
        ).fetchdf()
        features = conn.execute(
            "select cycle_ts, ticker, change_1d_pct from cycle_features"
        ).fetchdf()
    start = predictions["cycle_ts"].min() - pd.Timedelta(days=10)
    end = max(min(now, predictions["horizon_end"].max()), predictions["cycle_ts"].max())
    with permanent_errors_fail_fast():
        closes = market.scoring_prices(start, end, intraday_tickers=minute_legs(predictions))
    book = every_portfolio(predictions, PriceBook.of(closes), rules, now, rates, features)
    longest = pd.to_numeric(predictions["horizon_sessions"], errors="coerce").max()
    block = int(min(21, max(1, 1 if pd.isna(longest) else longest)))
    table = metrics_table(book, rules, block)
    with warehouse.one_transaction() as conn:
        for name, frame in (
            ("paper_positions", book.positions),
            ("paper_equity", book.marks),
            ("paper_performance", table),
        ):
            conn.register("frame", frame)
            conn.execute(f"create or replace table {name} as select * from frame")
            conn.unregister("frame")
    yield dg.MaterializeResult(
        asset_key="paper_positions",
        metadata={
            "positions": int((book.positions["status"] != "none").sum()),
            "no_position": int((book.positions["status"] == "none").sum()),
            "flagged": int(book.positions["flagged"].fillna(False).astype(bool).sum()),
        },
    )
    latest = book.marks.groupby("source").tail(1).set_index("source")
    yield dg.MaterializeResult(
        asset_key="paper_equity",
        metadata={
            "marks": len(book.marks),
            "equity": dg.MetadataValue.json(
                {s: round(float(v), 2) for s, v in latest["equity"].items()}
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key="paper_performance",
        metadata={"table": dg.MetadataValue.md(_markdown(table))},
    )


def _markdown(table) -> str:
    """Equity, drawdown and Sharpe so far, per portfolio, as the UI shows them."""
    cols = {
        "source": "portfolio",
        "final_equity": "equity",
        "total_return_pct": "return %",
        "max_drawdown_pct": "max drawdown %",
        "sharpe": "Sharpe",
        "sharpe_vs_benchmark": "Sharpe − buy-and-hold",
        "costs": "costs",
        "positions": "positions",
    }
    shown = table[list(cols)].rename(columns=cols)
    return shown.to_markdown(index=False, floatfmt=".2f")


# The checks read what the asset wrote; blocking: a failure stops the run before the site.
CHECKS = {}


def _check(name: str, asset: str, description: str):
    def register(fn):
        @dg.asset_check(asset=asset, name=name, blocking=True, description=description)
        def check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
            with warehouse.connect() as conn:
                bad, meta = fn(conn)
            return dg.AssetCheckResult(
                passed=not bad, metadata={"failures": len(bad), **meta, "first": str(bad[:5])}
            )

        CHECKS[name] = check
        return fn

    return register


@_check(
    "cash_plus_positions_is_equity",
    "paper_equity",
    "At every mark of every portfolio, cash + long value − short value equals equity.",
)
def _books_balance(conn):
    rows = conn.execute(
        "select source, cycle_key, equity from paper_equity "
        "where not isfinite(equity) or not isfinite(cash) "
        "or abs(cash + long_value - short_value - equity) > 1e-6 * greatest(1, abs(equity))"
    ).fetchall()
    return rows, {}


@_check(
    "gross_never_above_the_cap",
    "paper_equity",
    "No mark's gross exposure is above WORKSHOP_PORTFOLIO_GROSS_CAP, and no equity is negative.",
)
def _within_cap(conn):
    cap = SETTINGS.portfolio.gross_cap
    rows = conn.execute(
        "select source, cycle_key, gross, equity from paper_equity "
        "where gross > ? + 1e-9 or equity < 0 or not isfinite(equity)",
        [cap],
    ).fetchall()
    return rows, {"gross_cap": cap}


@_check(
    "every_scored_call_has_its_position",
    "paper_positions",
    "Every scored call of every source has a position row: a position, or a stated reason.",
)
def _every_call(conn):
    rows = conn.execute(
        """
        with scored as (
            select cycle_key, source from prediction_scores where status = 'scored'
        )
        select s.cycle_key, s.source from scored s
        left join paper_positions p using (cycle_key, source)
        where p.cycle_key is null or (p.status = 'none' and p.reason is null)
        """
    ).fetchall()
    return rows, {}


books_balance_check = CHECKS["cash_plus_positions_is_equity"]
within_cap_check = CHECKS["gross_never_above_the_cap"]
every_call_check = CHECKS["every_scored_call_has_its_position"]
