"""Paper portfolios (group track_record, rebuilt by the rollups): what following each source's
published calls would have earned, after costs, against buy-and-hold (portfolio/)."""

import dagster as dg

from ...lib.per_cycle import SETTINGS, permanent_errors_fail_fast
from ...lib.variant_jobs import PAPER_ASSETS
from ...lib.variant_place import VariantPlace
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


def build_paper_portfolios(variant: str, side: bool = False) -> dg.AssetsDefinition:
    """The three paper-portfolio assets of `variant`: the code location's own, or a side
    variant's (keys prefixed with its name, tables in its DuckDB schema, its group), built
    from its own calls over the market every variant shares."""
    place = VariantPlace(variant, side)
    positions, equity, performance = (place.key(n) for n in PAPER_ASSETS)
    schema = place.schema

    @dg.multi_asset(
        name=f"{variant}_paper_portfolios" if side else "paper_portfolios",
        specs=[
            dg.AssetSpec(
                key,
                group_name=place.group("track_record"),
                deps=deps,
                kinds={"duckdb", "pandas"},
                description=place.described(description),
            )
            for key, deps, description in (
                (
                    positions,
                    [place.key("prediction_scores"), place.key("predictions")]
                    + ["macro_rates", "cycle_features"],
                    POSITIONS_DESCRIPTION,
                ),
                (equity, [positions], EQUITY_DESCRIPTION),
                (performance, [equity], PERFORMANCE_DESCRIPTION),
            )
        ],
        pool="duckdb",
    )
    def paper_portfolios(
        context: dg.AssetExecutionContext, market: MarketResource, warehouse: WarehouseResource
    ):
        yield from _build(variant, schema, (positions, equity, performance), market, warehouse)

    return paper_portfolios


def _build(variant: str, schema: str, keys, market: MarketResource, warehouse):
    import pandas as pd

    from ...config.variants import load_variants
    from ...market import calendar
    from ...portfolio.every_source import every_portfolio, metrics_table
    from ...portfolio.paper_book import fed_funds
    from ...predictions.bootstrap import horizon_block
    from ...predictions.scoring import PriceBook, minute_legs
    from ...store import asset_rows, paper_books

    rules = load_variants()[variant].portfolio_rules(SETTINGS.portfolio)
    now = calendar.now_ny()
    with warehouse.connect() as conn:
        predictions = asset_rows.calls_in_time_order(conn, schema)
        if predictions.empty:
            raise dg.Failure(f"no predictions of variant {variant} yet: run a cycle first")
        rates = fed_funds(asset_rows.rate_points(conn))
        features = asset_rows.daily_changes(conn)
    start = predictions["cycle_ts"].min() - pd.Timedelta(days=10)
    end = max(min(now, predictions["horizon_end"].max()), predictions["cycle_ts"].max())
    with permanent_errors_fail_fast():
        closes = market.scoring_prices(start, end, intraday_tickers=minute_legs(predictions))
    book = every_portfolio(predictions, PriceBook.of(closes), rules, now, rates, features)
    table = metrics_table(book, rules, horizon_block(predictions))
    frames = dict(zip(PAPER_ASSETS, (book.positions, book.marks, table), strict=True))
    with warehouse.one_transaction() as conn:
        paper_books.replace_books(conn, frames, schema)
    positions, equity, performance = keys
    yield dg.MaterializeResult(
        asset_key=positions,
        metadata={
            "positions": int((book.positions["status"] != "none").sum()),
            "no_position": int((book.positions["status"] == "none").sum()),
            "flagged": int(book.positions["flagged"].fillna(False).astype(bool).sum()),
        },
    )
    latest = book.marks.groupby("source").tail(1).set_index("source")
    yield dg.MaterializeResult(
        asset_key=equity,
        metadata={
            "marks": len(book.marks),
            "equity": dg.MetadataValue.json(
                {s: round(float(v), 2) for s, v in latest["equity"].items()}
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key=performance,
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


def _books_balance(conn, schema: str = "main"):
    from ...store import paper_books

    return paper_books.unbalanced_marks(conn, schema), {}


def _within_cap(conn, schema: str = "main"):
    from ...store import paper_books

    cap = SETTINGS.portfolio.gross_cap
    return paper_books.marks_over_the_cap(conn, cap, schema), {"gross_cap": cap}


def _every_call(conn, schema: str = "main"):
    from ...store import paper_books

    return paper_books.scored_calls_without_a_position(conn, schema), {}


# The checks read what the asset wrote; blocking: a failure stops the run before the site.
# (name, asset, description, the query that finds the failures)
CHECKS = (
    (
        "cash_plus_positions_is_equity",
        "paper_equity",
        "At every mark of every portfolio, cash + long value − short value equals equity.",
        _books_balance,
    ),
    (
        "gross_never_above_the_cap",
        "paper_equity",
        "No mark's gross exposure is above the gross cap, and no equity is negative or NaN.",
        _within_cap,
    ),
    (
        "every_scored_call_has_its_position",
        "paper_positions",
        "Every scored call of every source has a position row: a position, or a stated reason.",
        _every_call,
    ),
)


def build_paper_checks(variant: str, side: bool = False) -> list[dg.AssetChecksDefinition]:
    """The blocking checks on `variant`'s paper portfolios (its schema's tables)."""
    place = VariantPlace(variant, side)
    return [_check(place, *check) for check in CHECKS]


def _check(place: VariantPlace, name: str, asset: str, description: str, find):
    @dg.asset_check(asset=place.key(asset), name=name, blocking=True, description=description)
    def check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as conn:
            bad, meta = find(conn, place.schema)
        return dg.AssetCheckResult(
            passed=not bad, metadata={"failures": len(bad), **meta, "first": str(bad[:5])}
        )

    return check


# The code location's own variant's, and each side variant's (WORKSHOP_VARIANTS) at its sizing.
paper_portfolios = build_paper_portfolios(SETTINGS.variant)
paper_portfolio_checks = build_paper_checks(SETTINGS.variant)
variant_paper_portfolios = [build_paper_portfolios(v, side=True) for v in SETTINGS.side_variants]
variant_paper_checks = [c for v in SETTINGS.side_variants for c in build_paper_checks(v, side=True)]
