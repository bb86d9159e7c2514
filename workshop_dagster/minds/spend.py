"""What model calls cost: the price table, the cost of a reply's usage, and the spend ledger.

The spend ledger: every request sent to the model API, appended as it happens.

`llm_calls` is a per-cycle table, replaced when a cycle is run again and written only when the
deliberation step succeeds; a run that fails after paid calls would leave their cost nowhere.
`llm_spend` keeps them: one row per request that left for the API (answered, in a batch, or
failed after its retries), written by the engine's writer thread while the next request waits,
and flushed when the step ends, failed or not. Never replaced, never duplicated (a replayed
reply is not a request): `select sum(cost_usd) from llm_spend` is what the API was paid.
"""

from __future__ import annotations

from ..store.llm_spend import LEDGER_FIELDS as _LEDGER_FIELDS
from .llm_errors import LLMConfigError

BATCH_DISCOUNT = 0.5  # Message Batches cost half the standard price


def cost_usd(prices: dict, model: str, usage: dict) -> float:
    if model not in prices:
        raise LLMConfigError(f"no price for model {model!r} in WORKSHOP_LLM_PRICES")
    p_in, p_out, p_write, p_read = prices[model]
    return round(
        (
            usage["input_tokens"] * p_in
            + usage["output_tokens"] * p_out
            + usage["cache_write_tokens"] * p_write
            + usage["cache_read_tokens"] * p_read
        )
        / 1e6,
        6,
    )


def usage_of(message) -> dict:
    u = message.usage
    return {
        "input_tokens": int(getattr(u, "input_tokens", 0) or 0),
        "output_tokens": int(getattr(u, "output_tokens", 0) or 0),
        "cache_write_tokens": int(getattr(u, "cache_creation_input_tokens", 0) or 0),
        "cache_read_tokens": int(getattr(u, "cache_read_input_tokens", 0) or 0),
    }


# The ledger row's fields (the store keeps them with the tables that hold them).
LEDGER_FIELDS = _LEDGER_FIELDS
