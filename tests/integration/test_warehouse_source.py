"""A warehouse holds one market source: the stamp, and warehouses written before it."""

import duckdb
import pytest

from workshop_dagster.store.source_stamp import MixedSourcesError, claim_source

# Stamps DuckDB files of its own.
pytestmark = pytest.mark.file_warehouse


def _bars(db, sources):
    with duckdb.connect(str(db)) as conn:
        conn.execute("create table market_bars (source varchar)")
        for s in sources:
            conn.execute("insert into market_bars values (?)", [s])


def test_an_empty_warehouse_takes_any_source_until_it_holds_cycles(tmp_path):
    db = tmp_path / "w.duckdb"
    claim_source(db, "yfinance", "yfinance")  # e.g. a run that failed before writing
    claim_source(db, "sim (seed 7)", "sim")
    _bars(db, ["sim"])
    claim_source(db, "sim (seed 7)", "sim")
    with pytest.raises(MixedSourcesError, match=r"holds cycles of market 'sim \(seed 7\)'"):
        claim_source(db, "sim (seed 8)", "sim")


def test_a_warehouse_from_before_the_stamp_is_judged_by_its_bars(tmp_path):
    one, mixed = tmp_path / "one.duckdb", tmp_path / "mixed.duckdb"
    _bars(one, ["csv", "csv"])
    claim_source(one, "csv:/data/market", "csv")
    with pytest.raises(MixedSourcesError, match="csv:/data/market"):
        claim_source(one, "sim (seed 7)", "sim")
    _bars(mixed, ["csv", "sim"])
    with pytest.raises(MixedSourcesError, match="csv and sim .written before sources were"):
        claim_source(mixed, "sim (seed 7)", "sim")
