"""Materialize Workshop assets into a temporary warehouse, as the integration tests do."""

from __future__ import annotations

from contextlib import contextmanager

import dagster as dg
import pandas as pd

from workshop_dagster.config.settings import load_settings
from workshop_dagster.resources import build_resources


def materialize(
    keys: str | list[str] | None,
    *,
    market: str = "sim",
    seed: int = 7,
    intraday: bool = True,
    selection=None,
    llm=None,
    resources: dict | None = None,
    **kwargs,
):
    """One run over one cycle key, a single run over a contiguous range of keys, or (None) a run
    of unpartitioned assets."""
    from workshop_dagster.definitions import ASSETS, CHECKS

    settings = load_settings()
    settings = type(settings)(
        **{**settings.__dict__, "market": market, "seed": seed, "intraday": intraday}
    )
    keys = [keys] if isinstance(keys, str) else keys
    if keys is None:
        pass
    elif len(keys) == 1:
        kwargs["partition_key"] = keys[0]
    else:
        kwargs["tags"] = {
            **kwargs.get("tags", {}),
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        }
    overrides, resources = resources, build_resources(settings)
    if llm is not None:
        resources["llm"] = llm
    resources.update(overrides or {})
    return dg.materialize(
        [*ASSETS, *CHECKS],
        selection=selection,
        resources=resources,
        instance=dg.DagsterInstance.get(),
        **kwargs,
    )


def query(sql: str, params=None) -> pd.DataFrame:
    """Read the warehouse of the settings (a file or a lake) as `verify` does."""
    from workshop_dagster.store import warehouse

    with warehouse.read_only(load_settings().database) as conn:
        return conn.execute(sql, params or []).fetchdf()


@contextmanager
def writable():
    """A read-write connection to the warehouse of the settings (a file or a lake), as a hand
    edit would open it: through the one door, committed when the block ends."""
    from workshop_dagster.store import warehouse

    with warehouse.connect(load_settings().database) as conn:
        yield conn


def failure_text(result) -> str:
    """Every step failure's error (and a failure to start the run's resources), with causes."""
    texts = []
    for event in result.all_events:
        if event.is_step_failure:
            texts.append(event.step_failure_data.error.to_string())
        elif event.event_type_value == "RESOURCE_INIT_FAILURE":
            texts.append(event.event_specific_data.error.to_string())
    return "\n".join(texts)


def assert_in_no_table(secret: str) -> None:
    """No table of the warehouse holds `secret` (a key) anywhere in its rows."""
    from workshop_dagster.store import warehouse

    with warehouse.read_only(load_settings().database) as conn:
        for (table,) in conn.execute(
            "select table_name from information_schema.tables where table_catalog = "
            "current_database()"
        ).fetchall():
            dump = conn.execute(f"select * from {table}").fetchdf().to_csv()
            assert secret not in dump, f"the key leaked into {table}"
