"""The replay cache of model replies, in the warehouse: pay for a prompt once.

Keyed by (source, model, prompt hash). A reply is stored as soon as it arrives (by the engine's
writer thread, while the next call waits on the network), so even a run that fails later never
pays twice for the calls it already made.
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

    def get_many(self, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], dict]:
        """The stored replies among (source, model, prompt hash) keys, in one connection (the
        three minds of a cycle look up together, before their requests go out)."""
        wanted = pd.DataFrame(keys, columns=["source", "model", "prompt_hash"])
        with warehouse.connect(self.database) as conn:
            conn.execute(DDL)
            conn.register("wanted", wanted)
            rows = conn.execute(
                "select r.source, r.model, r.prompt_hash, r.reply_json from llm_replay r "
                "join wanted w using (source, model, prompt_hash)"
            ).fetchall()
        return {(src, model, key): json.loads(reply) for src, model, key, reply in rows}

    def put_many(self, replies: list[tuple[str, str, str, dict]]) -> None:
        """Store (source, model, prompt hash, reply) rows in one connection."""
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        with warehouse.connect(self.database) as conn:
            conn.execute(DDL)
            conn.executemany(
                "insert or replace into llm_replay values (?, ?, ?, ?, ?)",
                [
                    [source, model, key, json.dumps(reply), now]
                    for source, model, key, reply in replies
                ],
            )
