"""A release that adds columns to per-cycle tables runs on the warehouse an earlier one made."""

import dagster as dg
import duckdb
import pytest

from tests.integration.helpers import failure_text, materialize, query
from workshop_dagster.config.settings import load_settings

# Warehouse files an earlier release wrote (a lake starts at this release).
pytestmark = pytest.mark.file_warehouse

LOOP = dg.AssetSelection.groups("market", "minds", "predictions")


def test_new_columns_are_added_to_an_earlier_warehouse_and_earlier_rows_kept(workshop_env):
    first, second = "2026-03-30-19:15", "2026-03-31-09:15"
    assert materialize(first, selection=LOOP).success
    # The warehouse as the release before intraday quotes left it.
    with duckdb.connect(str(load_settings().database)) as conn:
        conn.execute("alter table predictions drop column price_series")
        conn.execute("alter table cycle_features drop column quote_source")
        before = conn.execute("select count(*) from predictions").fetchone()[0]
    result = materialize(second, selection=LOOP)
    assert result.success, failure_text(result)
    rows = query("select cycle_key, price_series from predictions order by cycle_key")
    assert len(rows) == before + 4
    assert rows[rows["cycle_key"] == first]["price_series"].isna().all()
    assert rows[rows["cycle_key"] == second]["price_series"].notna().all()
    sources = query("select cycle_key, quote_source from cycle_features")
    assert sources[sources["cycle_key"] == second]["quote_source"].notna().all()

    # Scores an earlier release wrote have no `conviction`: the rollups still build (the
    # calibration bins the stated number, which for such rows is their confidence).
    with duckdb.connect(str(load_settings().database)) as conn:
        conn.execute("alter table prediction_scores drop column conviction")
    result = materialize(None, selection=dg.AssetSelection.groups("track_record"))
    assert result.success, failure_text(result)
    assert query("select count(*) n from track_record")["n"][0] > 0
    assert "conviction" in query("describe prediction_scores")["column_name"].tolist()


def test_a_removed_model_column_is_still_refused_naming_the_table(workshop_env):
    key = "2026-03-30-19:15"
    assert materialize(key, selection=LOOP).success
    with duckdb.connect(str(load_settings().database)) as conn:
        conn.execute("alter table cycle_features add column retired_field double")
    result = materialize(key, selection=LOOP, raise_on_error=False)
    assert not result.success
    assert "drop table main.cycle_features" in failure_text(result)
