"""Dagster hashes a TimeWindowPartitionsDefinition from its repr: kept once computed.

With the closed days of a year and more excluded (~470 ticks of the intraday cadence) a hash
costs ~0.75 ms, and a cycle run looks the partitions up in Dagster's lru_caches ~380 times.
"""

from __future__ import annotations

from collections import OrderedDict

import dagster as dg


def memoize_partitions_hash() -> None:
    """Hash a TimeWindowPartitionsDefinition once, not on every lookup.

    Dagster hashes a partitions definition from its repr, exclusions included, and looks it up
    in its lru_caches hundreds of times a run: with the closed days of a year and more of the
    intraday cadence excluded (~470 ticks) a hash costs ~0.75 ms, ~0.3 s a cycle run. The
    definition is immutable, so its hash is kept (for those with many exclusions, the last few)."""
    cls = dg.TimeWindowPartitionsDefinition
    if getattr(cls, "_workshop_memo_hash", False):
        return
    original = cls.__hash__
    kept: OrderedDict[int, tuple[object, int]] = OrderedDict()

    def __hash__(self) -> int:
        if len(self.exclusions or ()) < 50:
            return original(self)
        entry = kept.get(id(self))
        if entry is not None and entry[0] is self:
            return entry[1]
        value = original(self)
        kept[id(self)] = (self, value)
        while len(kept) > 8:
            kept.popitem(last=False)
        return value

    cls.__hash__ = __hash__
    cls._workshop_memo_hash = True
