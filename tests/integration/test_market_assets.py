"""Market assets materialized into a temporary DuckDB file and DAGSTER_HOME."""

import dagster as dg
import pandas as pd
import pytest

from tests.integration.helpers import failure_text, materialize, query

MARKET = dg.AssetSelection.groups("market")

TABLES = ("market_bars", "market_quotes", "macro_rates", "cycle_features", "regime_labels")
CYCLE = "2026-03-30-19:15"


def _counts(cycle_key: str) -> dict[str, int]:
    return {
        t: int(query(f"select count(*) n from {t} where cycle_key = ?", [cycle_key])["n"][0])
        for t in TABLES
    }


def _window_bars(cycle_key: str) -> pd.DataFrame:
    """The bars a cycle's windows held, put back from session_bars."""
    from workshop_dagster.market.session_bars import WINDOW_BARS

    windows = f"(select * from market_bars where cycle_key = '{cycle_key}')"
    frame = query(WINDOW_BARS.format(windows=windows))
    return frame.sort_values(["ticker", "session_date"]).reset_index(drop=True)


def test_definitions_load_and_show_the_lineage():
    from workshop_dagster.definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"market_bars", "macro_rates", "news_items", "cycle_features", "regime_labels"} <= keys
    features = graph.get(dg.AssetKey("cycle_features"))
    assert {p.to_user_string() for p in features.parent_keys} == {
        "market_bars",
        "macro_rates",
        "market_quotes",
    }
    regime = graph.get(dg.AssetKey("regime_labels"))
    assert {p.to_user_string() for p in regime.parent_keys} == {"cycle_features"}
    assert defs.resolve_job_def("cycle") is not None


def test_rematerializing_a_cycle_three_times_leaves_one_copy(workshop_env):
    for _ in range(3):
        assert materialize(CYCLE, selection=MARKET).success
    counts = _counts(CYCLE)
    # One window per ticker, over the 30 sessions stored once in session_bars.
    assert counts["market_bars"] == 17
    assert query("select count(*) n from session_bars")["n"][0] == 17 * 30
    assert (query("select sessions from market_bars")["sessions"] == 30).all()
    assert len(_window_bars(CYCLE)) == 17 * 30
    assert counts["regime_labels"] == 1
    assert counts["cycle_features"] == 17
    for table in TABLES:
        total = int(query(f"select count(*) n from {table}")["n"][0])
        assert total == counts[table], f"{table} has rows from more than one cycle"
    # Another cycle adds its rows and leaves the first cycle alone.
    before = _window_bars(CYCLE)
    assert materialize("2026-03-31-19:15", selection=MARKET).success
    assert _counts(CYCLE) == counts
    # ... and stores only the session it adds (2026-03-31's bars), never a window again.
    assert query("select count(*) n from session_bars")["n"][0] == 17 * 31
    pd.testing.assert_frame_equal(_window_bars(CYCLE), before)
    stored = query("select typeof(cycle_ts) t from market_bars limit 1")["t"][0]
    assert "WITH TIME ZONE" not in stored


def test_single_run_over_a_range_of_cycles(workshop_env):
    keys = ["2026-03-30-09:15", "2026-03-30-12:15", "2026-03-30-19:15", "2026-03-31-09:15"]
    result = materialize(keys, selection=MARKET)
    assert result.success
    assert (
        len(result.dagster_run.tags)
        and result.dagster_run.tags.get("dagster/asset_partition_range_start") == keys[0]
    )
    labels = query("select cycle_key from regime_labels order by cycle_ts")["cycle_key"].tolist()
    assert labels == keys
    # No look-ahead in what was stored for any of these cycles.
    bad_bars = sum((_window_bars(k)["bar_ts"] > _window_bars(k)["cycle_ts"]).sum() for k in keys)
    bad_rates = query("select count(*) n from macro_rates where as_of > cycle_ts")["n"][0]
    assert bad_bars == 0 and bad_rates == 0


def test_yfinance_failure_fails_the_run_and_writes_nothing(workshop_env, monkeypatch):
    def unreachable(symbols, start, end):
        return pd.DataFrame()  # what yfinance returns when Yahoo cannot be reached

    monkeypatch.setattr("workshop_dagster.market.yahoo._yf_download", unreachable)
    monkeypatch.setattr("workshop_dagster.market.yahoo._yf_news", lambda symbol: [])
    result = materialize(CYCLE, market="yfinance", selection=MARKET, raise_on_error=False)
    assert not result.success
    text = failure_text(result)
    assert "yfinance returned no data for SPY, QQQ, IWM" in text
    tables = query("select table_name from information_schema.tables")["table_name"].tolist()
    assert not set(TABLES) & set(tables)
    # The warehouse holds no cycle, so it is not bound to yfinance: a sim run may use it.
    assert materialize(CYCLE, selection=MARKET).success


def test_one_market_source_per_warehouse(workshop_env, shared_market):
    assert materialize(CYCLE, selection=MARKET).success
    before = {t: query(f"select * from {t} order by all") for t in TABLES}
    for other in (f"csv:{shared_market}", "yfinance"):
        result = materialize(CYCLE, market=other, selection=MARKET, raise_on_error=False)
        assert not result.success
        text = failure_text(result)
        assert "holds cycles of market 'sim (seed 7)'" in text and other.split(":")[0] in text
        assert "WORKSHOP_DATA_DIR" in text
        for table in TABLES:
            pd.testing.assert_frame_equal(
                query(f"select * from {table} order by all"), before[table]
            )
    # Another seed is another market too.
    settings_seed = materialize(CYCLE, selection=MARKET, raise_on_error=False, seed=8)
    assert not settings_seed.success


def test_csv_replay_reproduces_the_seed_memo_figures(workshop_env, shared_market):
    # Daily closes only (the seed quotes them): with intraday bars see test_intraday_quotes.
    result = materialize(CYCLE, market=f"csv:{shared_market}", selection=MARKET, intraday=False)
    assert result.success
    features = query(
        "select ticker, change_1d_pct, spread_10y_2y, fed_funds from cycle_features "
        "where cycle_key = ?",
        [CYCLE],
    ).set_index("ticker")
    assert round(features.loc["IWM", "change_1d_pct"], 2) == -1.44
    assert round(features.loc["TSLA", "change_1d_pct"], 2) == -1.81
    assert round(features.loc["META", "change_1d_pct"], 2) == 2.03
    assert features["spread_10y_2y"].iloc[0] == pytest.approx(0.53)
    assert features["fed_funds"].iloc[0] == pytest.approx(3.64)
    label = query("select label, score, drivers from regime_labels")
    assert label["label"][0] in {"risk_on", "transition", "risk_off"}
    assert "vix_level" in label["drivers"][0]


def test_the_simulators_news_is_archived_and_each_cycle_reads_it_as_of_its_time(workshop_env):
    result = materialize(["2026-03-25-19:15", "2026-03-26-09:15"], selection=["news_items"])
    assert result.success
    mat = result.asset_materializations_for_node("news_items")[-1]
    assert mat.metadata["news_source"].value == "sim"
    archive = query("select * from news_archive")
    views = query("select * from news_items order by cycle_ts, visible_from")
    assert len(archive) > 0 and archive["item_id"].is_unique
    assert (views["visible_from"] <= views["cycle_ts"]).all()
    # The 16:15 recap of 2026-03-25 is read by that evening's cycle and the next morning's.
    evening = views[views["cycle_key"] == "2026-03-25-19:15"]["item_id"].tolist()
    assert "sim-7-20260325-mover-NVDA" in evening
    assert set(evening) <= set(views[views["cycle_key"] == "2026-03-26-09:15"]["item_id"])
    # Re-running adds nothing to the archive and gives the same views.
    assert materialize(["2026-03-25-19:15", "2026-03-26-09:15"], selection=["news_items"]).success
    assert query("select count(*) n from news_archive")["n"][0] == len(archive)
    pd.testing.assert_frame_equal(
        query("select * from news_items order by cycle_ts, visible_from"), views
    )


def test_a_csv_market_without_news_leaves_a_marked_empty_view(
    workshop_env, shared_market_without_news
):
    market = f"csv:{shared_market_without_news}"
    result = materialize(CYCLE, market=market, selection=["news_items"])
    assert result.success
    mat = result.asset_materializations_for_node("news_items")[0]
    assert "no item visible" in mat.metadata["archive_note"].value
    assert query("select count(*) n from news_items")["n"][0] == 0


def test_a_cycle_whose_time_has_not_come_is_refused_and_writes_nothing(workshop_env, monkeypatch):
    """After a market holiday's excluded ticks Dagster already offers the next session's first
    cycle; run before its time, it would see the market of now under a later minute's name."""
    from workshop_dagster.market import calendar

    monkeypatch.setattr(calendar, "now_ny", lambda: pd.Timestamp("2026-03-30 10:00"))
    result = materialize("2026-03-30-12:15", selection=MARKET, raise_on_error=False)
    assert not result.success
    assert "cycle 2026-03-30-12:15 has not happened yet (now 2026-03-30 10:00 New York)" in (
        failure_text(result)
    )
    assert materialize("2026-03-30-09:15", selection=MARKET).success  # its time has come
    assert set(query("select distinct cycle_key from market_quotes")["cycle_key"]) == {
        "2026-03-30-09:15"
    }
