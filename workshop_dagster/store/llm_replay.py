"""The replay cache of model replies, in the warehouse: pay for a prompt once.

Keyed by (source, model, prompt hash). A reply is stored as soon as it arrives (by the engine's
writer thread, while the next call waits on the network), so even a run that fails later never
pays twice for the calls it already made. The stored keys are read once per step, so a call the
cache cannot answer (every live call) costs no warehouse round trip on its way out; a reply
another run stores during the step is not seen by it (at worst, paid once more).
"""

from __future__ import annotations

import json
import threading

import pandas as pd

from . import warehouse

DDL = """
create table if not exists llm_replay (
    source varchar, model varchar, prompt_hash varchar, reply_json varchar,
    stored_at timestamp, primary key (source, model, prompt_hash)
)
"""


class WarehouseReplay:
    def __init__(self, database: str):
        self.database = database
        self._stored: set[tuple[str, str, str]] | None = None
        self._lock = threading.Lock()

    def preload(self) -> None:
        """Read the stored keys now (the engine does it in the background as the step starts)."""
        self._stored_keys()

    def _stored_keys(self) -> set[tuple[str, str, str]]:
        with self._lock:
            if self._stored is None:
                with warehouse.connect(self.database) as conn:
                    warehouse.create_table(conn, DDL)
                    rows = conn.execute("select source, model, prompt_hash from llm_replay")
                    self._stored = set(rows.fetchall())
            return self._stored

    def get_many(self, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], dict]:
        """The stored replies among (source, model, prompt hash) keys, in one connection (the
        three minds of a cycle look up together, before their requests go out); none at all if
        no key is stored."""
        stored = self._stored_keys()
        wanted = pd.DataFrame(
            [k for k in keys if k in stored], columns=["source", "model", "prompt_hash"]
        )
        if wanted.empty:
            return {}
        with warehouse.connect(self.database) as conn:
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
            warehouse.create_table(conn, DDL)
            # Delete-then-insert, not an upsert: a lake's tables have no key to upsert on.
            new = pd.DataFrame(
                [
                    [source, model, key, json.dumps(reply), now]
                    for source, model, key, reply in replies
                ],
                columns=["source", "model", "prompt_hash", "reply_json", "stored_at"],
            )
            with warehouse.registered(conn, "new_replies", new):
                conn.execute(
                    "delete from llm_replay r where exists (select 1 from new_replies n where "
                    "(n.source, n.model, n.prompt_hash) = (r.source, r.model, r.prompt_hash))"
                )
                conn.execute("insert into llm_replay by name select * from new_replies")
        with self._lock:
            if self._stored is not None:
                self._stored.update((source, model, key) for source, model, key, _ in replies)
