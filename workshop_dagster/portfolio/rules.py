"""How a call becomes a position: the sizing, the caps and what trading costs.

A call published at probability p opens a position of `k * (2p - 1)` of equity on each leg
(fractional Kelly: `2p - 1` is the Kelly fraction of an even-odds bet won with probability p),
clipped to `position_cap`, and the book's gross exposure (the sum of every leg's absolute value
over equity) never exceeds `gross_cap`: new positions are scaled down to the room left, and a
book that prices pushed over the cap is trimmed back to it.

Defaults, and why:
- `k` 0.25 (quarter Kelly): full Kelly is optimal only when p is known; on estimated
  probabilities it over-bets, and a quarter keeps most of the growth at a small part of the
  drawdown. A call at 0.6 takes 5% of equity, at 0.7 10%.
- `position_cap` 0.2: no single idea takes over a fifth of the book (reached at p = 0.9).
- `gross_cap` 1.0: no leverage; longs never borrow, shorts plus longs never exceed equity.
- Costs per unit traded, each side (a round trip pays twice), in basis points of the value
  traded: index ETFs 2, sector and bond ETFs 3, single stocks 5. SPY's quoted spread is about
  0.3-0.5 bp (one cent; etf.com, "ETFs With The Highest & Lowest Trading Spreads"), the
  asset-weighted spread of US-listed ETFs 3 bp (the same source), and a mega cap's one to two;
  a cycle trades at the price of a bar's close, not at a quote, so the figures add slippage on
  top of half the spread. VIX is an index no one can buy: a call on it opens no position.
- `borrow_bps_year` 30: the fee to borrow a short leg (general collateral for these liquid names
  runs 0.25-0.5% a year); cash, short proceeds included, earns the fed funds rate the cycle knew.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..market.universe import TICKER_KIND


class PortfolioRulesError(ValueError):
    """A sizing, cap or cost setting out of range; the message names it and the range."""


def _setting(env: str, low: float, high: float, why: str) -> dict:
    return {"env": env, "low": low, "high": high, "why": why}


@dataclass(frozen=True)
class PortfolioRules:
    """The sizing, caps and costs of every paper portfolio (a variant may set its own sizing).
    Each field is a WORKSHOP_PORTFOLIO_* variable, checked at load with its range."""

    kelly_fraction: float = field(
        default=0.25, metadata=_setting("WORKSHOP_PORTFOLIO_KELLY", 0.0, 1.0, "a fraction of Kelly")
    )
    position_cap: float = field(
        default=0.2,
        metadata=_setting("WORKSHOP_PORTFOLIO_POSITION_CAP", 0.0, 1.0, "of equity, each leg"),
    )
    gross_cap: float = field(
        default=1.0,
        metadata=_setting("WORKSHOP_PORTFOLIO_GROSS_CAP", 0.0, 1.0, "of equity, every leg"),
    )
    index_cost_bps: float = field(
        default=2.0,
        metadata=_setting("WORKSHOP_PORTFOLIO_INDEX_COST_BPS", 0.0, 500.0, "bp each side"),
    )
    sector_cost_bps: float = field(
        default=3.0,
        metadata=_setting("WORKSHOP_PORTFOLIO_SECTOR_COST_BPS", 0.0, 500.0, "bp each side"),
    )
    stock_cost_bps: float = field(
        default=5.0,
        metadata=_setting("WORKSHOP_PORTFOLIO_STOCK_COST_BPS", 0.0, 500.0, "bp each side"),
    )
    borrow_bps_year: float = field(
        default=30.0,
        metadata=_setting("WORKSHOP_PORTFOLIO_BORROW_BPS", 0.0, 5000.0, "bp a year on shorts"),
    )
    capital: float = field(
        default=100_000.0,
        metadata=_setting("WORKSHOP_PORTFOLIO_CAPITAL", 1.0, 1e12, "dollars at the start"),
    )
    benchmark: str = field(default="SPY", metadata={"env": "WORKSHOP_PORTFOLIO_BENCHMARK"})

    def __post_init__(self) -> None:
        for problem in self.problems():
            raise PortfolioRulesError(problem)

    def problems(self) -> list[str]:
        """Each setting out of its range, named with the range it accepts."""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "benchmark":
                if TICKER_KIND.get(value) not in ("index", "sector", "mega_cap"):
                    traded = sorted(t for t, k in TICKER_KIND.items() if k != "volatility")
                    out.append(
                        f"{f.metadata['env']}={value!r} is not a traded instrument: use one of "
                        f"{', '.join(traded)}"
                    )
                continue
            low, high = f.metadata["low"], f.metadata["high"]
            if not isinstance(value, int | float) or not low <= float(value) <= high:
                out.append(
                    f"{f.metadata['env']}={value!r} is out of range: {f.name} accepts "
                    f"{low:g} to {high:g} ({f.metadata['why']})"
                )
        if not out and self.position_cap > self.gross_cap:
            out.append(
                f"WORKSHOP_PORTFOLIO_POSITION_CAP={self.position_cap:g} is above "
                f"WORKSHOP_PORTFOLIO_GROSS_CAP={self.gross_cap:g}: one leg cannot be larger "
                "than the whole book"
            )
        return out

    def weight(self, probability: float) -> float:
        """The fraction of equity a call at `probability` takes on each leg (0 at a coin flip,
        or for a probability that is not a number)."""
        if probability is None or probability != probability:  # NaN
            return 0.0
        p = min(max(float(probability), 0.5), 1.0)
        return min(self.kelly_fraction * (2.0 * p - 1.0), self.position_cap)

    def cost_bps(self, ticker: str) -> float | None:
        """The cost of trading `ticker`, each side, in basis points; None: it cannot be traded."""
        kind = TICKER_KIND.get(ticker)
        return {
            "index": self.index_cost_bps,
            "sector": self.sector_cost_bps,
            "mega_cap": self.stock_cost_bps,
        }.get(kind)

    def without_costs(self) -> PortfolioRules:
        """The same rules with free trading and borrowing: for comparison only, never the
        default (a backtest that assumed free trades is the field's most frequent complaint)."""
        from dataclasses import replace

        return replace(
            self, index_cost_bps=0.0, sector_cost_bps=0.0, stock_cost_bps=0.0, borrow_bps_year=0.0
        )


def rules_from_env(env: dict[str, str], base: PortfolioRules | None = None) -> PortfolioRules:
    """`base` (default: the defaults) with each WORKSHOP_PORTFOLIO_* variable set in `env`; a
    value that is not a number, or out of range, is refused naming the variable."""
    from dataclasses import replace

    base = base or PortfolioRules()
    options: dict[str, object] = {}
    for f in fields(PortfolioRules):
        text = env.get(f.metadata["env"], "").strip()
        if not text:
            continue
        if f.name == "benchmark":
            options[f.name] = text.upper()
            continue
        try:
            number = float(text)
        except ValueError:
            raise PortfolioRulesError(
                f"{f.metadata['env']}={text!r} is not a number: {f.name} accepts "
                f"{f.metadata['low']:g} to {f.metadata['high']:g} ({f.metadata['why']})"
            ) from None
        options[f.name] = number
    return replace(base, **options)
