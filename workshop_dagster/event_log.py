"""The project's event log under its former path, for instance files (`.dagster_home/dagster.yaml`)
written before it moved to `workshop_dagster/platform/event_log.py`: `make` never overwrites them."""

from .platform.event_log import BatchedSqliteEventLogStorage

__all__ = ["BatchedSqliteEventLogStorage"]
