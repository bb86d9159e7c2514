"""The paper portfolios' tables (`paper_positions`, `paper_equity`, `paper_performance`): written
whole in one transaction by their asset, and the queries their blocking checks ask (each returns
the rows that break the rule: none is a pass)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .tables import qualified
from .warehouse import registered

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

BOOKS = ("paper_positions", "paper_equity", "paper_performance")


def replace_books(
    conn: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame], schema: str = "main"
) -> None:
    """Each book's table replaced by its frame (the caller's transaction holds all three)."""
    for name, frame in frames.items():
        if name not in BOOKS:
            raise ValueError(f"{name!r} is not a paper book ({', '.join(BOOKS)})")
        with registered(conn, "paper_frame", frame):
            conn.execute(
                f"create or replace table {qualified(name, schema)} as select * from paper_frame"
            )


def unbalanced_marks(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> list[tuple]:
    """Marks whose cash + long value − short value is not their equity, or not finite."""
    return conn.execute(
        f"select source, cycle_key, equity from {qualified('paper_equity', schema)} "
        "where not isfinite(equity) or not isfinite(cash) "
        "or abs(cash + long_value - short_value - equity) > 1e-6 * greatest(1, abs(equity))"
    ).fetchall()


def marks_over_the_cap(
    conn: duckdb.DuckDBPyConnection, cap: float, schema: str = "main"
) -> list[tuple]:
    """Marks whose gross exposure is above `cap`, or whose equity is negative or not finite."""
    return conn.execute(
        f"select source, cycle_key, gross, equity from {qualified('paper_equity', schema)} "
        "where gross > ? + 1e-9 or equity < 0 or not isfinite(equity)",
        [cap],
    ).fetchall()


def scored_calls_without_a_position(
    conn: duckdb.DuckDBPyConnection, schema: str = "main"
) -> list[tuple]:
    """Scored calls with no position row, or a `none` row with no stated reason."""
    return conn.execute(
        f"""
        with scored as (
            select cycle_key, source
            from {qualified("prediction_scores", schema)}
            where status = 'scored'
        )
        select s.cycle_key, s.source from scored s
        left join {qualified("paper_positions", schema)} p using (cycle_key, source)
        where p.cycle_key is null or (p.status = 'none' and p.reason is null)
        """
    ).fetchall()
