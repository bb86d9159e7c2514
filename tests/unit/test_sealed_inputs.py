"""A sealed cycle's inputs: the rows a run would replace are compared with the stored ones."""

import duckdb
import pandas as pd

from tests.unit.test_seals import _contents
from workshop_dagster.predictions import seals
from workshop_dagster.store.record_seals import sealed_anywhere as sealed_keys
from workshop_dagster.store.sealed_inputs import changed_sealed_cycles


def test_only_a_change_to_a_sealed_cycles_rows_is_named_with_its_columns():
    with duckdb.connect(":memory:") as conn:
        stored = pd.DataFrame(
            {
                "cycle_key": ["c1", "c1", "c2"],
                "ticker": ["SPY", "QQQ", "SPY"],
                "last": [500.0, 400.0, 501.0],
                "stale": [False, False, False],
            }
        )
        conn.execute("create table quotes as select * from stored")
        seals.seal(conn, _contents(cycles=("c1",)))
        assert sealed_keys(conn, ["c1", "c2", "c3"]) == ["c1"]
        sealed = sealed_keys(conn, ["c1", "c2"])
        # The same rows in another order, a new column, an unsealed cycle changed: no change.
        same = stored.iloc[::-1].assign(extra=1)
        same.loc[same["cycle_key"] == "c2", "last"] = 999.0
        assert changed_sealed_cycles(conn, "main.quotes", same, sealed) is None
        moved = stored.copy()
        moved.loc[1, ["last", "stale"]] = [401.0, True]
        changed = changed_sealed_cycles(conn, "main.quotes", moved, sealed)
        assert (changed.cycle_key, changed.columns) == ("c1", ("last", "stale"))
        assert "workshop/amend=true" in changed.message()
        dropped = changed_sealed_cycles(conn, "main.quotes", stored.iloc[1:], sealed)
        assert dropped.cycle_key == "c1"
        assert changed_sealed_cycles(conn, "main.nothing", stored, sealed) is None
