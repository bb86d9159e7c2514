"""A range's frame as each cycle's rows: converted to dicts once, then grouped.

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
