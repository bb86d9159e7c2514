"""The replay cache of model replies, in the warehouse: pay for a prompt once.

Keyed by (source, model, prompt hash). A reply is stored as soon as it arrives, so even a run
that fails later never pays twice for the calls it already made.
"""

from __future__ import annotations

import json

import pandas as pd

from .. import warehouse

DDL = """
create table if not exists llm_replay (
    source varchar, model varchar, prompt_hash varchar, reply_json varchar,
    stored_at timestamp, primary key (source, model, prompt_hash)
)
"""


class WarehouseReplay:
    def __init__(self, database: str):
        self.database = database

    def get(self, source: str, model: str, key: str) -> dict | None:
        with warehouse.connect(self.database) as conn:
            conn.execute(DDL)
            row = conn.execute(
                "select reply_json from llm_replay where source = ? and model = ? "
                "and prompt_hash = ?",
                [source, model, key],
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, source: str, model: str, key: str, reply: dict) -> None:
        with warehouse.connect(self.database) as conn:
            conn.execute(DDL)
            conn.execute(
                "insert or replace into llm_replay values (?, ?, ?, ?, ?)",
                [
                    source,
                    model,
                    key,
                    json.dumps(reply),
                    pd.Timestamp.now(tz="UTC").tz_localize(None),
                ],
            )
