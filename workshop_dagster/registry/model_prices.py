"""What a model's tokens cost: the built-in price table and the one WORKSHOP_LLM_PRICES makes of
it. Read by the settings (a hosted model must have a price) and by the engines' books. Pure."""

from __future__ import annotations

# $ per million tokens: input, output, cache write (5 min), cache read. Configuration: update
# it when prices change (WORKSHOP_LLM_PRICES takes JSON of the same shape).
DEFAULT_PRICES = {
    "claude-haiku-5-5": [1.0, 5.0, 1.25, 0.10],
    "claude-sonnet-5-5": [3.0, 15.0, 3.75, 0.30],
    "claude-opus-5-5": [5.0, 25.0, 6.25, 0.50],
    "claude-haiku-4-5": [1.0, 5.0, 1.25, 0.10],
    "claude-sonnet-4-6": [3.0, 15.0, 3.75, 0.30],
}


def price_table(prices_json: str = "") -> dict[str, list[float]]:
    """The built-in prices, with WORKSHOP_LLM_PRICES's entries (checked by the settings) over
    them."""
    import json

    return {**DEFAULT_PRICES, **(json.loads(prices_json) if prices_json else {})}
