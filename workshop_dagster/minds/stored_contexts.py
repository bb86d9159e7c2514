"""Stored contexts read back whole: each `mind_context` row with its record (`context_records`)
and its headlines (`news_archive`) put back, as `cycle_context.full_document` does for one; the
cycles of a record point share its parsed record (read-only), so a year of contexts stays small."""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from .cycle_context import joined


def read_full(conn: duckdb.DuckDBPyConnection, mind_context: pd.DataFrame) -> dict[str, dict]:
    """cycle_key -> the full context document, for the rows of `mind_context`."""
    from ..market import news_archive
    from ..store import context_records

    docs = dict(zip(mind_context["cycle_key"], mind_context["context_json"], strict=True))
    parsed = {key: json.loads(doc) for key, doc in docs.items()}
    record_ids = sorted({d["record_id"] for d in parsed.values() if "record_id" in d})
    # (Contexts stored before the archive hold their headlines whole, without ids.)
    item_ids = sorted(
        {n["item_id"] for d in parsed.values() for n in d.get("news", []) if "item_id" in n}
    )
    records = context_records.read(conn, record_ids)
    items = news_archive.items(conn, item_ids)
    news = {r["item_id"]: r for r in items.to_dict("records")}
    parsed_records: dict[str, dict] = {}

    def record_of(record_id: str) -> dict:
        # One parsed record for every cycle that names it (a year: ~250 records, 4,000 cycles).
        if record_id not in parsed_records:
            if record_id not in records:
                raise KeyError(f"context_records does not hold record {record_id}")
            parsed_records[record_id] = json.loads(records[record_id])
        return parsed_records[record_id]

    return {key: joined(doc, record_of, news) for key, doc in parsed.items()}
