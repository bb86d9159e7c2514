"""A cycle as one small value: its key (as the partitions name it, "2026-03-30-19:15") and its
naive New York time, made together once from the run's partition keys and carried through the
loop. A key is never formatted again from a time: the time of the repeated hour of a DST change
has two keys (Dagster appends the UTC offset to the second), so a key rebuilt from a time could
name another partition than the one the run wrote."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .calendar import CYCLE_KEY_FORMAT, to_naive_ny

if TYPE_CHECKING:  # imported by the partitions when the code location loads, which needs no pandas
    import pandas as pd


@dataclass(frozen=True, order=True)
class Cycle:
    time: pd.Timestamp  # naive New York time (first: cycles sort by time)
    key: str  # the partition key

    @classmethod
    def of_key(cls, key: str) -> Cycle:
        return cls(key_to_time(key), key)

    @classmethod
    def of_time(cls, ts) -> Cycle:
        """The cycle at `ts` (aware or naive New York), its key formatted from it: for a time
        that did not come from a key (a schedule's tick, a cycle of the loop's own making)."""
        import pandas as pd

        time = to_naive_ny(ts)
        return cls(pd.Timestamp(time).as_unit("ns"), time.strftime(CYCLE_KEY_FORMAT))


def key_to_time(key: str) -> pd.Timestamp:
    """A cycle key ("2026-03-30-19:15") as naive New York time."""
    import pandas as pd

    if len(key) > 16:  # Dagster appends the UTC offset to the repeated hour of a DST change
        aware = pd.to_datetime(key, format=CYCLE_KEY_FORMAT + "%z")
        return aware.tz_convert("America/New_York").tz_localize(None)
    # strptime, not pd.to_datetime: 5 us a key instead of 34 (a range run asks for every cycle's)
    return pd.Timestamp(datetime.strptime(key, CYCLE_KEY_FORMAT)).as_unit("ns")


def of_keys(keys: Sequence[str]) -> list[Cycle]:
    """The cycles of many keys, parsed at once (a year's range has ~4,000), in the keys' order."""
    import pandas as pd

    plain = [k for k in keys if len(k) <= 16]
    parsed = dict(zip(plain, pd.to_datetime(plain, format=CYCLE_KEY_FORMAT), strict=True))
    return [Cycle(parsed[k] if k in parsed else key_to_time(k), k) for k in keys]


def keys_by_time(cycles: Iterable[Cycle]) -> dict[pd.Timestamp, str]:
    return {c.time: c.key for c in cycles}
