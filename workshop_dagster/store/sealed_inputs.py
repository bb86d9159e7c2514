"""The seal guards a cycle's inputs too: a run may rewrite the rows a sealed memo was written from
(its market window, quotes, rates, news, features, regime) only with what they already hold.

A sealed cycle's memo and calls are refused at the seal if they would change (`seals.seal`),
but its inputs are written by earlier steps: without this guard a refused run (a setting
changed, `WORKSHOP_INTRADAY=false`, a corrected data file) would already have replaced them, and
the sealed memo would sit on figures it never saw. Each input asset asks `changed_sealed_cycles`
before it replaces a window of cycles, in the transaction that would write it, and refuses
(naming the cycle, the table and the columns that differ) unless the run amends on purpose.
Cycles sealed in any record count: the market and feature rows are every variant's.

A window of daily bars (`market_bars`) names the revision of `session_bars` it was resolved at,
a number every later write moves on (a backfill of earlier sessions included): windows are
compared by the bars they resolve to, not by that number (`RESOLVED`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass(frozen=True)
class ChangedInputs:
    """A sealed cycle whose stored rows of `table` the run would replace with other rows."""

    table: str
    cycle_key: str
    columns: tuple[str, ...]
    n_changed: int

    def message(self) -> str:
        cols = ", ".join(self.columns[:8]) or "its rows (added or removed)"
        others = f" (and {self.n_changed - 1} more sealed cycle(s))" if self.n_changed > 1 else ""
        return (
            f"cycle {self.cycle_key} is sealed, and this run would change the {self.table} rows "
            f"its memo was written from ({cols}){others}: a setting (WORKSHOP_INTRADAY, the "
            "market source) or the data changed since it was sealed. Nothing was written; the "
            "record is not rewritten. To recompute the cycle and publish the new memo as a "
            "visible amendment, run again with the run tag workshop/amend=true"
        )


# Tables whose rows stand for other rows: the columns that are only a pointer, and the query
# that resolves a relation of them to what they point to (compared instead).
def _resolved() -> dict[str, tuple[tuple[str, ...], str]]:
    from .session_bars import WINDOW_BARS

    return {"market_bars": (("revision",), WINDOW_BARS)}


def _columns(conn: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in conn.execute(f"describe {relation}").fetchall()]


def changed_sealed_cycles(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    new_rows: str | pd.DataFrame,
    sealed: Sequence[str],
    key_column: str = "cycle_key",
) -> ChangedInputs | None:
    """Whether replacing the sealed cycles' rows of `table` (schema-qualified) by `new_rows` (a
    frame, or a SQL relation) would change any: compared as multisets of rows on the columns
    both have (a column a release adds is not a change of what the memo saw). None when the
    table does not exist yet, no cycle is sealed, or the rows are the same."""
    from .warehouse import registered, table_exists

    schema, _, name = table.rpartition(".")
    if not sealed or not table_exists(conn, name, schema or "main"):
        return None
    import pandas as pd

    with contextlib.ExitStack() as names:
        if isinstance(new_rows, pd.DataFrame):
            names.enter_context(registered(conn, "sealed_guard_new", new_rows))
            new_rows = "sealed_guard_new"
        keys = pd.DataFrame({key_column: list(sealed)})
        names.enter_context(registered(conn, "sealed_guard_keys", keys))
        old_cols = _columns(conn, table)
        if key_column not in old_cols:
            return None
        ignore, resolve = _resolved().get(name, ((), None))
        new_cols = set(_columns(conn, f"(select * from {new_rows})"))
        cols = [c for c in old_cols if c in new_cols and c not in ignore]
        where = f'"{key_column}" in (select "{key_column}" from sealed_guard_keys)'
        old, new = (
            f"(select * from {table} where {where})",
            f"(select * from {new_rows} where {where})",
        )
        if resolve is not None:
            resolved = _changed(
                conn,
                (f"({resolve.format(windows=old)})", f"({resolve.format(windows=new)})"),
                _columns(conn, f"({resolve.format(windows=table)})"),
                key_column,
                f"{name} (the bars its windows resolve to)",
            )
            if resolved is not None:
                return resolved
        return _changed(conn, (old, new), cols, key_column, name)


def _changed(
    conn: duckdb.DuckDBPyConnection,
    relations: tuple[str, str],
    cols: list[str],
    key_column: str,
    name: str,
) -> ChangedInputs | None:
    """Whether the stored and the new rows of the sealed cycles (`relations`) differ on
    `cols`, compared as multisets; the first such cycle with the columns that differ."""
    quoted = ", ".join(f'"{c}"' for c in cols)
    old, new = (f"(select {quoted} from {r})" for r in relations)
    differing = conn.execute(
        f'select distinct "{key_column}" from ((select * from {old} except all '
        f"select * from {new}) union all (select * from {new} except all "
        f"select * from {old})) order by 1"
    ).fetchall()
    if not differing:
        return None
    first = differing[0][0]
    changed = tuple(
        c
        for c in cols
        if c != key_column
        and conn.execute(
            f'select count(*) from ((select "{c}" from {old} where "{key_column}" = $k '
            f'except all select "{c}" from {new} where "{key_column}" = $k) union all '
            f'(select "{c}" from {new} where "{key_column}" = $k except all '
            f'select "{c}" from {old} where "{key_column}" = $k))',
            {"k": first},
        ).fetchall()[0][0]
    )
    return ChangedInputs(name, str(first), changed, len(differing))
