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

import uuid

import pandas as pd

from ..store import warehouse
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


DDL = """
create table if not exists llm_spend (
    call_id varchar primary key, recorded_at timestamp, cycle_key varchar, source varchar,
    model varchar, prompt_hash varchar, input_tokens bigint, output_tokens bigint,
    cache_write_tokens bigint, cache_read_tokens bigint, cost_usd double, latency_s double,
    retries bigint, outcome varchar
)
"""
# The ledger row the engine records per call, with its pandas type: the columns of `llm_calls`
# (which adds cycle_ts) and of `llm_spend` (which adds call_id and recorded_at).
LEDGER_FIELDS = {
    "cycle_key": "string",
    "source": "string",
    "model": "string",
    "prompt_hash": "string",
    "input_tokens": "int64",
    "output_tokens": "int64",
    "cache_write_tokens": "int64",
    "cache_read_tokens": "int64",
    "cost_usd": "float64",
    "latency_s": "float64",
    "retries": "int64",
    "outcome": "string",
}


class WarehouseSpend:
    def __init__(self, database: str):
        self.database = database

    def append(self, rows: list[dict]) -> None:
        """Append ledger rows (as the engine records them), each under a new call id."""
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        with warehouse.connect(self.database) as conn:
            warehouse.create_table(conn, DDL)
            conn.executemany(
                f"insert into llm_spend values ({', '.join(['?'] * (len(LEDGER_FIELDS) + 2))})",
                [[str(uuid.uuid4()), now, *(r[c] for c in LEDGER_FIELDS)] for r in rows],
            )
