"""A range's frame as each cycle's rows (converted to dicts once, then grouped), and a range's
cycle times as a frame a query joins against.

A range run's steps read per-cycle rows from a frame of many cycles; a group's `to_dict` per
cycle (or a frame filtered per cycle) costs a year's run seconds."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def records_by(frame: pd.DataFrame, column: str) -> dict[Hashable, list[dict]]:
    """`frame`'s rows as dicts, grouped by their `column` value (each group in the frame's
    order, the groups in order of first appearance)."""
    grouped: dict[Hashable, list[dict]] = {}
    for row in frame.to_dict("records"):
        grouped.setdefault(row[column], []).append(row)
    return grouped


def cycle_times_frame(cycle_times) -> pd.DataFrame:
    """The distinct cycle times as a one-column frame (`cycle_ts`, nanoseconds, in order), for
    a query to join a table against each cycle of a range."""
    import pandas as pd

    out = pd.DataFrame({"cycle_ts": pd.DatetimeIndex(sorted(set(cycle_times)))})
    out["cycle_ts"] = out["cycle_ts"].astype("datetime64[ns]")
    return out
