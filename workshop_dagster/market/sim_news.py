"""The simulator's news: headlines tied to its own shocks, Fed decisions and regime switches.

So the offline loop, the demo and the tests read news like the live path does. Every item is
published only after what it reports had happened (a session's recap after its close, the Fed's
decision at 14:00 on the day it is made), marked "simulated: ..." in its source, and made from
the simulation alone, so it is the same for a seed however it is computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .universe import TICKERS

WIRE = "simulated: Workshop Wire"
FED = "simulated: Federal Reserve"
# The simulator's first session (`simulator` imports it from here, so the two share it without
# importing each other).
EPOCH = pd.Timestamp("2018-01-02")
EDGAR = "simulated: SEC EDGAR"
SINGLE_STOCKS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA")
COMPANIES = {
    "AAPL": "Apple",
    "MSFT": "Microsoft",
    "NVDA": "Nvidia",
    "AMZN": "Amazon",
    "GOOGL": "Alphabet",
    "META": "Meta Platforms",
    "TSLA": "Tesla",
}
FED_MEETING_EVERY = 32  # sessions; `simulator.MarketSimulation` decides on the same days
MARKET_MOVE_PCT = 1.8  # SPY's day that makes a recap headline
MOVER_PCT = 4.0  # a single stock's day that makes a headline
FILING_RATE = 0.08  # sessions with an insider filing of one of the mega-caps


def _at(day: pd.Timestamp, hhmm: str) -> pd.Timestamp:
    return day + pd.Timedelta(hours=int(hhmm[:2]), minutes=int(hhmm[3:]))


def _item(day, hhmm, kind, source, title, summary, tickers, seed) -> dict:
    ticker_part = tickers.replace(",", "-") or "market"
    item_id = f"sim-{seed}-{day:%Y%m%d}-{kind}-{ticker_part}"
    return {
        "item_id": item_id,
        "published_at": _at(day, hhmm),
        "source": source,
        "kind": kind,
        "title": title,
        "summary": summary,
        "url": f"sim://news/{item_id}",
        "tickers": tickers,
    }


def fed_calendar(until) -> pd.DataFrame:
    """The simulated Fed's meeting days up to `until` (every `FED_MEETING_EVERY` sessions from
    the simulator's epoch, its statement at 14:00), as `release_calendar` rows: fixed in
    advance, as the real committee's calendar is."""
    from .calendar import sessions
    from .release_calendar import calendar_rows

    days = sessions(EPOCH, pd.Timestamp(until).normalize())
    meetings = [
        _at(day, "14:00")
        for i, day in enumerate(days)
        if i % FED_MEETING_EVERY == FED_MEETING_EVERY - 1
    ]
    return calendar_rows(
        pd.DataFrame(
            {
                "published_at": meetings,
                "source": FED,
                "title": "FOMC statement released (policy decision)",
            }
        )
    )


def headlines(sim, start, end) -> pd.DataFrame:
    """The simulation's headlines published in [start, end] (naive New York times)."""
    from .news import empty_news, finish

    start, end = pd.Timestamp(start), pd.Timestamp(end)
    days = sim.sessions
    closes = sim.bars.pivot(index="session_date", columns="ticker", values="close")
    closes = closes.reindex(days)
    moves = 100 * (closes / closes.shift(1) - 1)
    fed = sim.rates[sim.rates["code"] == "DFF"].set_index("obs_date")["value"].reindex(days)
    regimes = sim.regimes.reindex(days)
    first = max(1, int(days.searchsorted(start.normalize() - pd.Timedelta(days=1))))
    last = int(days.searchsorted(end.normalize(), side="right"))
    items = []
    for i in range(first, last):
        day = days[i]
        spy = moves.at[day, "SPY"]
        vix = closes.at[day, "VIX"]
        if i % FED_MEETING_EVERY == FED_MEETING_EVERY - 1:
            before, after = fed.iloc[i - 1] - 0.08, fed.iloc[i] - 0.08
            if after < before - 1e-9:
                title = f"Fed cuts its policy rate by 25bp to {after:.2f}%"
                summary = "The committee cited tighter financial conditions and softer demand."
            elif after > before + 1e-9:
                title = f"Fed raises its policy rate by 25bp to {after:.2f}%"
                summary = "The committee said inflation risks still lean to the upside."
            else:
                title = f"Fed holds its policy rate at {after:.2f}%"
                summary = "The committee said it will stay data-dependent."
            items.append(_item(day, "14:00", "fed", FED, title, summary, "", sim.seed))
        if abs(spy) >= MARKET_MOVE_PCT:
            verb = "tumble" if spy < 0 else "surge"
            side = "selling" if spy < 0 else "buying"
            title = f"Stocks {verb} in broad {side}; the S&P 500 ETF closes {spy:+.1f}%"
            summary = f"VIX ends the session at {vix:.1f}."
            items.append(_item(day, "16:10", "market", WIRE, title, summary, "SPY", sim.seed))
        for t in SINGLE_STOCKS:
            m = moves.at[day, t]
            if abs(m) >= MOVER_PCT:
                verb = "jumps" if m > 0 else "sinks"
                title = f"{COMPANIES[t]} {verb} {abs(m):.1f}% on heavy volume"
                summary = f"{t} was the session's biggest mover among the mega-caps."
                items.append(_item(day, "16:15", "mover", WIRE, title, summary, t, sim.seed))
        if regimes.iloc[i] != regimes.iloc[i - 1]:
            text = {
                "risk_off": (
                    f"Risk-off: credit spreads widen and VIX climbs to {vix:.1f}",
                    "Havens are bid as investors cut exposure.",
                ),
                "risk_on": (
                    f"Relief: volatility eases, VIX back to {vix:.1f}",
                    "Dip buyers return and funding markets calm.",
                ),
                "transition": (
                    "Markets turn choppy as investors reassess the outlook",
                    "Leadership narrows and conviction fades.",
                ),
            }[regimes.iloc[i]]
            items.append(_item(day, "16:30", "regime", WIRE, text[0], text[1], "SPY", sim.seed))
        if spy <= -1.0 and moves.at[day, "GLD"] >= 1.0:
            items.append(
                _item(
                    day,
                    "16:20",
                    "geopolitics",
                    WIRE,
                    "Geopolitical worries resurface; gold bid as stocks fall",
                    "Traders point to tail risks that had been priced out.",
                    "GLD,SPY",
                    sim.seed,
                )
            )
        rng = np.random.default_rng([sim.seed, int(day.strftime("%Y%m%d")), 4])
        if rng.random() < FILING_RATE:
            t = SINGLE_STOCKS[int(rng.integers(len(SINGLE_STOCKS)))]
            side = "sale" if rng.random() < 0.7 else "purchase"
            title = f"Form 4: {COMPANIES[t]} director reports a {side} of shares"
            items.append(
                _item(day, "17:05", "filing", EDGAR, title, "An insider filing.", t, sim.seed)
            )
    if not items:
        return empty_news()
    frame = pd.DataFrame(items)
    frame = frame[(frame["published_at"] >= start) & (frame["published_at"] <= end)]
    known = [all(x in TICKERS for x in s.split(",") if x) for s in frame["tickers"]]
    frame = frame.loc[pd.Series(known, index=frame.index, dtype=bool)]
    if frame.empty:
        return empty_news()
    # The simulator publishes at once: an item is seen from its publication.
    return finish(frame.assign(fetched_at=frame["published_at"], feed="sim"))
