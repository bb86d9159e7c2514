"""What Dagster recomputes about the cycle partitions at every call, kept once computed.

Both are for a TimeWindowPartitionsDefinition with many exclusions (the cycle partitions carry
the closed days of a year and more: ~470 ticks of the intraday cadence); the definition is
immutable, so what is kept cannot go stale.
"""

from __future__ import annotations

from collections import OrderedDict

import dagster as dg

MANY_EXCLUSIONS = 50
KEPT = 8
# Dagster's own listing, kept for the tests to compare with.
ORIGINAL_GET_PARTITION_KEYS = dg.TimeWindowPartitionsDefinition.get_partition_keys


def memoize_partitions_hash() -> None:
    """Hash a TimeWindowPartitionsDefinition once, not on every lookup.

    Dagster hashes a partitions definition from its repr, exclusions included, and looks it up
    in its lru_caches hundreds of times a run: with ~470 exclusions a hash costs ~0.75 ms,
    ~0.3 s a cycle run. The hash is kept (for those with many exclusions, the last few)."""
    cls = dg.TimeWindowPartitionsDefinition
    if getattr(cls, "_workshop_memo_hash", False):
        return
    original = cls.__hash__
    kept: OrderedDict[int, tuple[object, int]] = OrderedDict()

    def __hash__(self) -> int:
        if len(self.exclusions or ()) < MANY_EXCLUSIONS:
            return original(self)
        entry = kept.get(id(self))
        if entry is not None and entry[0] is self:
            return entry[1]
        value = original(self)
        kept[id(self)] = (self, value)
        while len(kept) > KEPT:
            kept.popitem(last=False)
        return value

    cls.__hash__ = __hash__
    cls._workshop_memo_hash = True


def memoize_partition_keys() -> None:
    """List a TimeWindowPartitionsDefinition's keys once per last partition, not at every call.

    Dagster lists every key from the start by walking the cron, tick by tick, whenever a run
    needs "all partitions" (an unpartitioned asset reading the cycles: the rollups, the site;
    each step's data-version lookup of such inputs): ~7,500 ticks of the intraday cadence, 0.4 s
    a call, several calls a run. The list only changes when a new partition opens, so it is kept
    per last partition (Dagster's own, found by its reverse walk from now) and copied out."""
    cls = dg.TimeWindowPartitionsDefinition
    if getattr(cls, "_workshop_memo_keys", False):
        return
    original = cls.get_partition_keys
    kept: OrderedDict[tuple[int, float], tuple[object, list[str]]] = OrderedDict()

    def get_partition_keys(self, current_time=None, dynamic_partitions_store=None):
        if len(self.exclusions or ()) < MANY_EXCLUSIONS:
            return original(self, current_time, dynamic_partitions_store)
        from dagster._core.definitions.partitions.context import partition_loading_context

        with partition_loading_context(current_time, dynamic_partitions_store):
            last = self._get_last_partition_window(self._get_current_timestamp())
        if last is None:
            return []
        key = (id(self), last.start.timestamp())
        entry = kept.get(key)
        if entry is None or entry[0] is not self:
            entry = kept[key] = (self, original(self, current_time, dynamic_partitions_store))
            while len(kept) > KEPT:
                kept.popitem(last=False)
        return list(entry[1])

    cls.get_partition_keys = get_partition_keys
    cls._workshop_memo_keys = True
