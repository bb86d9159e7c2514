"""Dagster's own reading of cron strings (`dagster._utils.schedules`): the cadence's ticks must
be the ones Dagster's partitions and schedules make of it (its day-of-week and DST rules), so the
settings' checks and the partitions' cache ask Dagster itself rather than another cron library.
The one place outside Dagster's public API that the settings and the partitions use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime


def is_valid_cron(text: str) -> bool:
    """Whether Dagster accepts `text` as a cron string."""
    from dagster._utils.schedules import is_valid_cron_string

    return is_valid_cron_string(text)


def cron_ticks(cron: str, start: float, timezone: str) -> Iterator[datetime]:
    """Dagster's ticks of `cron` from the timestamp `start` on, in `timezone`."""
    from dagster._utils.schedules import cron_string_iterator

    return cron_string_iterator(start, cron, timezone)
