"""Every table of the warehouse by name, and where a variant's copy of one lives.

Two kinds: the assets' tables (written by the IO manager, or made by a SQL model, one row set a
cycle) and the side tables a module of this package keeps (the news archive, the sealed chain,
the model-call cache…). Nothing outside `store/` names a table in a SQL string (a test reads
the source for it); it asks the module here that owns the table. A side variant's tables are
the loop's, in a schema of the variant's name: `qualified` is the one place that joins the two,
after checking both are plain names (a schema comes from settings, never spliced unchecked).
"""

from __future__ import annotations

import re

# The assets' tables: in `main` for the code location's variant, in the variant's schema for
# a side variant (the asset-graph snapshot test holds this list to the graph).
ASSET_TABLES = (
    "market_quotes",
    "market_bars",
    "macro_rates",
    "news_items",
    "cycle_features",
    "regime_labels",
    "mind_context",
    "llm_calls",
    "mind_opinions",
    "debate",
    "memo",
    "predictions",
    "prediction_scores",
    "lessons",
    "track_record",
    "calibration",
    "rules",
    "paper_positions",
    "paper_equity",
    "paper_performance",
    "variant_comparison",
    "posts",
    "site",
)

# The side tables, each kept by one module of this package.
SIDE_TABLES = {
    "news_archive": "news_archive",
    "release_calendar": "release_calendar",
    "session_bars": "session_bars",
    "context_records": "context_records",
    "llm_replay": "llm_replay",
    "llm_spend": "llm_spend",
    "record_seals": "record_seals",
    "record_signing_keys": "record_seals",
    "record_variant": "record_seals",
    "record_head": "record_head",
    "warehouse_source": "source_stamp",
}

ALL = frozenset(ASSET_TABLES) | frozenset(SIDE_TABLES)

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


class UnknownTable(ValueError):
    """A table or schema name that is not the warehouse's (a typo, or text from outside)."""


def qualified(table: str, schema: str = "main") -> str:
    """`schema.table`, both checked: the table one of the warehouse's, the schema a plain
    lower-case name (a variant's, or `main`)."""
    if table not in ALL:
        raise UnknownTable(f"{table!r} is not a table of the warehouse ({', '.join(sorted(ALL))})")
    if not _NAME.fullmatch(schema or ""):
        raise UnknownTable(f"{schema!r} is not a schema name (lower-case letters, digits and _)")
    return f"{schema}.{table}"


def plain(table: str, schema: str = "main") -> str:
    """`schema.table` for a table the IO manager writes under its asset's name (any asset
    Dagster hands it, a test's included), both checked to be plain names."""
    for name in (table, schema):
        if not _NAME.fullmatch(name or ""):
            raise UnknownTable(f"{name!r} is not a table or schema name (a-z, 0-9 and _)")
    return f"{schema}.{table}"
