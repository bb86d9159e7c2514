"""The `llm_spend` table: every model call's tokens, cost and outcome, appended as the engine
records it (`minds/spend.py` prices a call; the budget and the ledger read this)."""

from __future__ import annotations

import uuid

import pandas as pd

from . import warehouse

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
