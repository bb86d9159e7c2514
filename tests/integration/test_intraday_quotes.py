"""Each cycle sees the market of its minute: real intraday bars through the market assets."""

import dagster as dg
import pytest

from tests.integration.helpers import failure_text, materialize, query

MARKET = dg.AssetSelection.groups("market")


def _features(key: str):
    return query(
        "select * from cycle_features where cycle_key = ? order by ticker", [key]
    ).set_index("ticker")


def test_the_evening_cycle_reports_the_session_and_the_after_hours_move_apart_in_its_memo(
    workshop_env, shared_market
):
    key = "2026-03-30-19:15"
    loop = dg.AssetSelection.groups("market", "minds", "predictions")
    result = materialize(key, market=f"csv:{shared_market}", selection=loop)
    assert result.success
    f = _features(key)
    # The regular session against the previous regular close, from the 1-minute bars (the seed,
    # from daily closes, quotes -1.44, -1.81 and +2.03).
    assert f.loc["IWM", "change_1d_pct"] == pytest.approx(-1.4316, abs=1e-4)
    assert f.loc["TSLA", "change_1d_pct"] == pytest.approx(-1.7912, abs=1e-4)
    assert f.loc["META", "change_1d_pct"] == pytest.approx(2.0296, abs=1e-4)
    # After hours IWM trades lower still: a separate field, and the last trade is 19:15's.
    assert f.loc["IWM", "extended_session"] == "after-hours"
    assert f.loc["IWM", "extended_move_pct"] == pytest.approx(-0.3673, abs=1e-4)
    assert f.loc["IWM", "last"] == pytest.approx(238.72)
    assert str(f.loc["IWM", "quote_ts"]) == "2026-03-30 19:15:00"
    assert f.loc["IWM", "quote_source"] == "1m"
    # No intraday data for DIA or VIX: their last close, marked stale, never mixed.
    for ticker in ("DIA", "VIX", "TLT"):
        assert f.loc[ticker, "quote_source"] == "daily close"
        assert bool(f.loc[ticker, "stale"])
    assert not f.loc[["IWM", "SPY", "TSLA"], "stale"].any()
    # The memo quotes the minute, and the fact check verifies every figure it quotes.
    body = query("select body from memo")["body"][0]
    assert "after hours" in body and "No quote of the minute for DIA" in body
    # Every figure the memo quotes, the after-hours moves included, is in the cycle's data.
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    figures = checks["memo_figures_match_data"]
    assert figures.passed, figures.metadata["unsupported"]
    assert figures.metadata["figures_checked"].value > 5
    context = query("select context_json from mind_context")["context_json"][0]
    assert '"extended_session": "after-hours"' in context and '"stale": true' in context


def test_a_midday_cycle_sees_that_mornings_moves(workshop_env, shared_market):
    key = "2026-04-02-12:15"
    assert materialize(key, market=f"csv:{shared_market}", selection=MARKET).success
    f = _features(key)
    # Computed from intraday/1m: the 12:14 bar's close against the 2026-04-01 regular close.
    assert f.loc["TSLA", "change_1d_pct"] == pytest.approx(-4.1481, abs=1e-4)
    assert f.loc["QQQ", "change_1d_pct"] == pytest.approx(-0.3372, abs=1e-4)
    assert f.loc["IWM", "change_1d_pct"] == pytest.approx(0.1924, abs=1e-4)
    assert f.loc["TSLA", "since_open_pct"] == pytest.approx(0.3432, abs=1e-4)
    assert f["extended_session"].isna().all(), "in the session, no extended-hours move"
    assert str(f.loc["SPY", "quote_ts"]) == "2026-04-02 12:15:00"
    # The breadth is the morning's: the share of the universe up on the session so far.
    ups = (f.drop(index="VIX")["change_1d_pct"] > 0).mean()
    assert f["breadth"].iloc[0] == pytest.approx(ups, abs=1e-4)


def test_daily_quotes_when_intraday_is_off(workshop_env, shared_market):
    key = "2026-04-02-12:15"
    assert materialize(key, market=f"csv:{shared_market}", selection=MARKET, intraday=False).success
    f = _features(key)
    assert (f["quote_source"] == "daily close").all() and not f["stale"].any()
    assert str(f.loc["SPY", "quote_ts"]) == "2026-04-01 16:00:00"


def test_a_cycle_with_nothing_new_makes_no_call(workshop_env, shared_market_without_news):
    """Daily closes only and no headlines: the 09:15 and 12:15 cycles see nothing the 19:15 one
    did not."""
    keys = ["2026-03-30-19:15", "2026-03-31-09:15", "2026-03-31-12:15"]
    loop = dg.AssetSelection.groups("market", "minds", "predictions")
    market = f"csv:{shared_market_without_news}"
    result = materialize(keys, market=market, selection=loop, intraday=False)
    assert result.success
    memos = query("select cycle_key, title, body, abstained from memo order by 1")
    quiet = memos[memos["cycle_key"] != keys[0]]
    assert (quiet["title"] == "Nothing New Since the Last Cycle").all() and quiet["abstained"].all()
    assert quiet["body"].str.contains("Nothing new since Monday 19:15").iloc[0]
    opinions = query(
        "select cycle_key, abstain_reason from mind_opinions where cycle_key <> ?", [keys[0]]
    )
    assert (
        len(opinions) == 6
        and (opinions["abstain_reason"] == "nothing new since the previous cycle").all()
    )
    calls = query("select cycle_key, parse_status from predictions")
    assert (calls[calls["cycle_key"] != keys[0]]["parse_status"] == "abstained").all()
    # With the minute's quotes, the same cycles each see new bars: the memos were sealed on the
    # daily closes, so the run is refused before it rewrites a quote (the inputs are sealed
    # too), unless it is an explicit amendment.
    before = query("select * from market_quotes order by cycle_key, ticker")
    refused = materialize(keys, market=market, selection=loop, raise_on_error=False)
    assert not refused.success
    assert "is sealed, and this run would change the market_quotes rows" in failure_text(refused)
    assert query("select * from market_quotes order by cycle_key, ticker").equals(before)
    amend = {"workshop/amend": "true"}
    result = materialize(keys, market=market, selection=loop, tags=amend)
    assert result.success
    assert not query("select title from memo")["title"].str.startswith("Nothing New").any()
