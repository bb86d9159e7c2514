"""A fourth mind is one registry entry, one prompt file and one offline function."""

import dagster as dg

from tests.integration.helpers import materialize, query
from workshop_dagster.minds.cycle_context import CycleContext
from workshop_dagster.minds.prompting import prompt as prompt_text
from workshop_dagster.minds.types import Opinion
from workshop_dagster.registry import minds as registry
from workshop_dagster.resources import DataQualityResource

LOOP = dg.AssetSelection.groups("market", "minds", "predictions")
CYCLE = "2026-03-30-19:15"


def skeptic_mind(context: CycleContext) -> Opinion:
    """Doubts the biggest mover of the day will keep going."""
    tickers = context.market.tickers
    ticker = max((t for t in tickers if t != "VIX"), key=lambda t: abs(tickers[t]["change_1d_pct"]))
    up = tickers[ticker]["change_1d_pct"] < 0
    return Opinion(
        mind="skeptic",
        stance="bullish" if up else "bearish",
        narrative=f"{ticker} moved the most today; I doubt it keeps going.",
        thesis="Big days fade.",
        ticker=ticker,
        direction="up" if up else "down",
        timeframe="48h",
        confidence=0.55,
    )


def test_a_registered_fourth_mind_joins_an_offline_cycle(workshop_env, tmp_path):
    prompt = tmp_path / "skeptic.md"
    prompt.write_text("You are the Skeptic mind. Doubt the day's biggest move.")
    registry.register(registry.Mind("skeptic", "Skeptic", "#9467bd", skeptic_mind, prompt))
    try:
        # The gate's worker process knows the minds of the code; this one is the test's own.
        gate = {"data_quality": DataQualityResource(runtime_dir=str(tmp_path), warm_worker=False)}
        assert materialize(CYCLE, selection=LOOP, resources=gate).success
        minds = query("select mind from mind_opinions order by mind")["mind"].tolist()
        assert minds == ["contrarian", "flow", "macro", "skeptic"]
        sources = set(query("select source from predictions")["source"])
        assert sources == {"synthesis", "macro", "flow", "contrarian", "skeptic"}
        memo = query("select body from memo")["body"][0]
        assert "| Skeptic: 55%*" in memo and "Skeptic argues" in memo
        debate = query("select skeptic_confidence from debate")
        assert debate["skeptic_confidence"][0] == 0.55
        # With Claude, its persona is its prompt file.
        assert prompt_text("skeptic") == "You are the Skeptic mind. Doubt the day's biggest move."
    finally:
        registry.unregister("skeptic")
    assert registry.mind_names() == ("macro", "flow", "contrarian")
