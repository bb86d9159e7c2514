"""Reads of the assets' tables beyond what the IO manager hands an asset: a variant's calls
before a cycle, the cycles whose calls are due, the memos the site and the demo show, the
evaluation's whole tables. Each read is named for what it returns; where the table is not made
yet, the read says so with an empty frame (or None), never an error, so a first run works."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .tables import qualified
from .warehouse import column_names, registered, table_exists

if TYPE_CHECKING:
    import duckdb


def whole(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> pd.DataFrame:
    """Every row of an asset's table (an empty frame where it was never made)."""
    if not table_exists(conn, table, schema):
        return pd.DataFrame()
    return conn.execute(f"select * from {qualified(table, schema)}").fetchdf()


def has_column(conn: duckdb.DuckDBPyConnection, table: str, column: str, schema="main") -> bool:
    return column in column_names(conn, table, schema)


def of_cycles(
    conn: duckdb.DuckDBPyConnection, table: str, cycle_keys: Sequence[str], schema: str = "main"
) -> pd.DataFrame | None:
    """An asset's rows of these cycles; None where its table was never made."""
    if not table_exists(conn, table, schema):
        return None
    with registered(conn, "asked_cycle_keys", pd.DataFrame({"cycle_key": list(cycle_keys)})):
        return conn.execute(
            f"select * from {qualified(table, schema)} "
            "where cycle_key in (select cycle_key from asked_cycle_keys)"
        ).fetchdf()


def calls_before(
    conn: duckdb.DuckDBPyConnection, before: pd.Timestamp, schema: str = "main"
) -> pd.DataFrame:
    """A variant's own calls (its schema's `predictions`) made before `before`, in time order."""
    if not table_exists(conn, "predictions", schema):
        return pd.DataFrame()
    return conn.execute(
        f"select * from {qualified('predictions', schema)} where cycle_ts < ? "
        "order by cycle_ts, source",
        [before],
    ).fetchdf()


def calls_in_time_order(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> pd.DataFrame:
    """Every call of a variant, oldest cycle first (an empty frame before its first cycle)."""
    if not table_exists(conn, "predictions", schema):
        return pd.DataFrame()
    return conn.execute(
        f"select * from {qualified('predictions', schema)} order by cycle_ts"
    ).fetchdf()


def ledger_of(
    conn: duckdb.DuckDBPyConnection, cycle_keys: Sequence[str], schema: str = "main"
) -> pd.DataFrame:
    """The stored `llm_calls` rows of these cycles (an empty frame where none are)."""
    if not cycle_keys or not table_exists(conn, "llm_calls", schema):
        return pd.DataFrame()
    with registered(conn, "ledger_keys", pd.DataFrame({"cycle_key": list(cycle_keys)})):
        return conn.execute(
            f"select * from {qualified('llm_calls', schema)} "
            "where cycle_key in (select cycle_key from ledger_keys)"
        ).fetchdf()


_DUE = """
with scored as (
    select cycle_key, source, status from {scores}
)
select p.cycle_key, max(p.horizon_end) as latest_due
from {predictions} p
left join scored s on s.cycle_key = p.cycle_key and s.source = p.source
where p.parse_status = 'parsed'
  and p.horizon_end <= ?
  and (s.status is null or s.status = 'pending')
group by p.cycle_key
order by p.cycle_key
"""
_DUE_WITHOUT_SCORES = """
select cycle_key, max(horizon_end) as latest_due
from {predictions}
where parse_status = 'parsed' and horizon_end <= ?
group by cycle_key
order by cycle_key
"""


def due_cycles(
    conn: duckdb.DuckDBPyConnection, now: pd.Timestamp, schema: str = "main"
) -> list[tuple[str, pd.Timestamp]]:
    """(cycle_key, latest matured horizon) of the cycles with matured calls not scored yet
    (never, or still `pending`), of the variant whose tables are in `schema`."""
    if not table_exists(conn, "predictions", schema):
        return []
    names = {
        "predictions": qualified("predictions", schema),
        "scores": qualified("prediction_scores", schema),
    }
    sql = _DUE if table_exists(conn, "prediction_scores", schema) else _DUE_WITHOUT_SCORES
    rows = conn.execute(sql.format(**names), [now]).fetchall()
    return [(key, pd.Timestamp(due)) for key, due in rows]


def synthesis_decided(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> pd.DataFrame:
    """A variant's synthesis scores that are decided (scored or abstained)."""
    if not table_exists(conn, "prediction_scores", schema):
        return pd.DataFrame()
    return conn.execute(
        f"select * from {qualified('prediction_scores', schema)} where source = 'synthesis' "
        "and status in ('scored', 'abstained')"
    ).fetchdf()


def scores_between(conn: duckdb.DuckDBPyConnection, first: str, last: str) -> pd.DataFrame:
    """The loop's scores of the cycles `first` .. `last` (cycle keys)."""
    return conn.execute(
        "select * from prediction_scores where cycle_key between ? and ?", [first, last]
    ).fetchdf()


def daily_changes(
    conn: duckdb.DuckDBPyConnection, start: pd.Timestamp | None = None, end=None
) -> pd.DataFrame:
    """cycle_ts, ticker, change_1d_pct of the loop's features (between `start` and `end`)."""
    if start is None:
        return conn.execute("select cycle_ts, ticker, change_1d_pct from cycle_features").fetchdf()
    return conn.execute(
        "select cycle_ts, ticker, change_1d_pct from cycle_features where cycle_ts between ? and ?",
        [start, end],
    ).fetchdf()


def rate_points(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """series, value, as_of of every macro rate stored."""
    return conn.execute("select series, value, as_of from macro_rates").fetchdf()


def memo_bodies(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> dict[str, str]:
    """cycle_key -> the memo's text (empty where no memo was written yet)."""
    if not table_exists(conn, "memo", schema):
        return {}
    return dict(conn.execute(f"select cycle_key, body from {qualified('memo', schema)}").fetchall())


def memo_body(conn: duckdb.DuckDBPyConnection, cycle_key: str) -> str | None:
    row = conn.execute("select body from memo where cycle_key = ?", [cycle_key]).fetchone()
    return row[0] if row else None


def latest_memo_with_a_new_call(
    conn: duckdb.DuckDBPyConnection, first: str, last: str
) -> tuple[str, str] | None:
    """(cycle_key, body) of the latest memo in `first` .. `last` whose synthesis made a new
    call (a warehouse from before restatements were told apart: any call)."""
    new_call = "and p.restates is null " if has_column(conn, "predictions", "restates") else ""
    rows = conn.execute(
        "select m.cycle_key, m.body from memo m join predictions p using (cycle_key) "
        f"where p.source = 'synthesis' and p.parse_status = 'parsed' {new_call}"
        "and m.cycle_key between ? and ? order by m.cycle_key desc limit 1",
        [first, last],
    ).fetchall()
    return rows[0] if rows else None


def scoreboard(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The track record over every horizon and subject, by source and regime."""
    return conn.execute(
        "select source, regime, n, n_restatements, n_abstained, hits, base_rate, brier, "
        "brier_sd from track_record "
        "where timeframe_bucket = 'all' and subject_kind = 'all' "
        "order by source, regime"
    ).fetchdf()


def rule_texts(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [r for (r,) in conn.execute("select rule_text from rules").fetchall()]


def comparison_documents(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Each side variant's comparison document (JSON), by variant."""
    if not table_exists(conn, "variant_comparison"):
        return []
    rows = conn.execute("select distinct b, doc from variant_comparison order by b").fetchall()
    return [doc for _, doc in rows]
