"""Each session's bar stored once; each cycle's window resolves to exactly what it saw."""

import duckdb
import pandas as pd
import pytest

from workshop_dagster.market.daily_view import DailyView
from workshop_dagster.market.errors import MarketDataError
from workshop_dagster.market.session_bars import WINDOW_BARS, migrate, store

T = pd.Timestamp
SESSIONS = [T("2024-01-02"), T("2024-01-03"), T("2024-01-04"), T("2024-01-05")]


def _bars(cycle: str, sessions: list[pd.Timestamp], close=None, ticker: str = "SPY"):
    """A snapshot's visible bars for one cycle: `close` maps a session to its close."""
    close = close or {}
    return pd.DataFrame(
        {
            "cycle_ts": T(cycle),
            "ticker": ticker,
            "session_date": sessions,
            "bar_ts": [s + pd.Timedelta(hours=16) for s in sessions],
            "open": 100.0,
            "high": 101.0,
            "low": 99.0,
            "close": [close.get(s, 100.5) for s in sessions],
            "volume": 1e6,
            "source": "csv",
        }
    )


def _view(bars: pd.DataFrame) -> DailyView:
    """Cycles' visible bars (one row per cycle, ticker and session) as `asof.daily_view` hands
    them over: each bar once, each cycle's window its first and last row."""
    columns = ["ticker", "session_date", "bar_ts", "open", "high", "low", "close", "volume"]
    unique = bars.drop_duplicates(columns).sort_values(["ticker", "bar_ts"], ignore_index=True)
    rows = bars.merge(unique[columns].reset_index(), on=columns)
    windows = (
        rows.groupby(["cycle_ts", "ticker"], as_index=False)["index"]
        .agg(start="min", stop="max")
        .assign(stop=lambda w: w["stop"] + 1)
    )
    return DailyView(unique[[*columns, "source"]], windows)


def _write(conn, bars: pd.DataFrame) -> int:
    """What market_snapshot does: store, then the IO manager replaces the cycles' windows."""
    windows, added = store(conn, _view(bars))
    windows.insert(0, "cycle_key", windows["cycle_ts"].dt.strftime("%Y-%m-%d-%H:%M"))
    conn.execute("create table if not exists market_bars as select * from windows limit 0")
    conn.execute("delete from market_bars where cycle_ts in (select cycle_ts from windows)")
    conn.execute("insert into market_bars by name select * from windows")
    return added


def _seen(conn, cycle: str) -> pd.DataFrame:
    windows = f"(select * from market_bars where cycle_ts = TIMESTAMP '{cycle}')"
    return (
        conn.execute(WINDOW_BARS.format(windows=windows))
        .fetchdf()
        .sort_values(["ticker", "session_date"])
        .reset_index(drop=True)
    )


@pytest.fixture
def conn():
    with duckdb.connect(":memory:") as c:
        yield c


def test_cycles_that_share_sessions_store_each_once(conn):
    assert (
        _write(
            conn,
            pd.concat(
                [_bars("2024-01-04 19:15", SESSIONS[:3]), _bars("2024-01-05 09:15", SESSIONS[:3])]
            ),
        )
        == 3
    )
    # Re-running both cycles, and the next cycle, adds only the session that is new.
    assert _write(conn, _bars("2024-01-04 19:15", SESSIONS[:3])) == 0
    assert _write(conn, _bars("2024-01-05 19:15", SESSIONS)) == 1
    assert conn.execute("select count(*) from session_bars").fetchone()[0] == 4
    assert conn.execute("select count(*) from market_bars").fetchone()[0] == 3
    assert len(_seen(conn, "2024-01-04 19:15")) == 3 and len(_seen(conn, "2024-01-05 19:15")) == 4


def test_a_revised_bar_is_a_new_revision_and_old_windows_keep_what_they_saw(conn):
    _write(conn, _bars("2024-01-04 19:15", SESSIONS[:3]))
    # The source adjusts history (Yahoo after a dividend): the next cycle sees 2024-01-02 lower.
    _write(conn, _bars("2024-01-05 19:15", SESSIONS, close={SESSIONS[0]: 99.7}))
    assert _seen(conn, "2024-01-04 19:15")["close"].tolist() == [100.5, 100.5, 100.5]
    assert _seen(conn, "2024-01-05 19:15")["close"].tolist() == [99.7, 100.5, 100.5, 100.5]
    # The source reverts: a third revision, not a reuse of the first.
    _write(conn, _bars("2024-01-05 19:45", SESSIONS))
    assert _seen(conn, "2024-01-05 19:45")["close"].tolist() == [100.5] * 4
    assert _seen(conn, "2024-01-05 19:15")["close"].tolist() == [99.7, 100.5, 100.5, 100.5]


def test_a_session_the_source_dropped_is_gone_from_later_windows_only(conn):
    _write(conn, _bars("2024-01-05 19:15", SESSIONS))
    _write(conn, _bars("2024-01-05 19:45", [SESSIONS[0], SESSIONS[2], SESSIONS[3]]))
    assert len(_seen(conn, "2024-01-05 19:15")) == 4
    assert _seen(conn, "2024-01-05 19:45")["session_date"].tolist() == [
        SESSIONS[0],
        SESSIONS[2],
        SESSIONS[3],
    ]


def test_two_different_bars_for_one_session_in_one_snapshot_are_refused(conn):
    bars = pd.concat(
        [
            _bars("2024-01-04 19:15", SESSIONS[:3]),
            _bars("2024-01-05 09:15", SESSIONS[:3], {SESSIONS[1]: 1.0}),
        ]
    )
    with pytest.raises(MarketDataError, match="two different bars for SPY on 2024-01-03"):
        store(conn, _view(bars))


def test_a_warehouse_with_whole_windows_is_migrated_without_changing_what_cycles_saw(conn):
    old = pd.concat(
        [
            _bars("2024-01-04 19:15", SESSIONS[:3]),
            _bars("2024-01-05 19:15", SESSIONS, close={SESSIONS[0]: 99.7}),
            _bars("2024-01-05 19:45", SESSIONS),
            _bars("2024-01-05 19:45", SESSIONS, ticker="QQQ"),
        ]
    )
    old.insert(0, "cycle_key", old["cycle_ts"].dt.strftime("%Y-%m-%d-%H:%M"))
    conn.register("old", old)
    conn.execute("create table market_bars as select * from old")
    conn.unregister("old")
    migrate(conn)
    assert "open" not in conn.execute("select * from market_bars").fetchdf().columns
    assert conn.execute("select count(*) from market_bars").fetchone()[0] == 4
    for cycle, group in old.groupby("cycle_ts"):
        seen = _seen(conn, str(cycle))
        want = group.sort_values(["ticker", "session_date"]).reset_index(drop=True)
        assert seen["close"].tolist() == want["close"].tolist()
        assert seen["session_date"].tolist() == want["session_date"].tolist()
    # Migrated once: the next write finds the new shape and adds only what is new.
    assert _write(conn, _bars("2024-01-05 19:45", SESSIONS)) == 0


def _features(conn) -> pd.DataFrame:
    """The cycle_features SQL model over what `_write` stored, with no intraday quotes (every
    ticker at its daily close) and one rate a cycle."""
    from workshop_dagster.store.sql_project import discover_models

    cycles = conn.execute("select distinct cycle_key, cycle_ts from market_bars").fetchdf()
    quotes = pd.DataFrame(
        {"cycle_ts": pd.Series(dtype="datetime64[ns]"), "ticker": pd.Series(dtype=str)}
    ).assign(
        quote_source="",
        quote_ts=pd.NaT,
        stale=False,
        extended_move_pct=0.0,
        extended_session="",
        since_open_pct=0.0,
        since_prev_cycle_pct=0.0,
        range_position=0.0,
        last=0.0,
        session_move_pct=0.0,
        change_5d_pct=0.0,
    )
    rates = cycles.assign(series="ust_10y", value=4.0, as_of=cycles["cycle_ts"])
    conn.register("quotes_frame", quotes)
    conn.register("rates_frame", rates)
    tables = {
        "market_bars": "main.market_bars",
        "market_quotes": "quotes_frame",
        "macro_rates": "rates_frame",
    }
    model = next(m for m in discover_models() if m.name == "cycle_features")
    sql = model.render(relation=tables.__getitem__)
    return conn.execute(
        f"select cycle_ts, last_session, last, change_1d_pct from ({sql})"
    ).fetchdf()


def test_the_features_take_each_cycles_closes_from_the_revision_it_saw(conn):
    # Three cycles: the first sees three sessions, the second a revised first session and the
    # fourth session, the third the revision undone and the second session dropped.
    _write(conn, _bars("2024-01-04 19:15", SESSIONS[:3], close={SESSIONS[2]: 101.0}))
    _write(conn, _bars("2024-01-05 19:15", SESSIONS, close={SESSIONS[0]: 99.7, SESSIONS[3]: 102.0}))
    _write(
        conn,
        _bars("2024-01-05 19:45", [SESSIONS[0], SESSIONS[2], SESSIONS[3]], {SESSIONS[3]: 103.0}),
    )
    features = _features(conn).sort_values("cycle_ts").reset_index(drop=True)
    assert features["last_session"].tolist() == [SESSIONS[2], SESSIONS[3], SESSIONS[3]]
    assert features["last"].tolist() == [101.0, 102.0, 103.0]
    # The move from the close a session before: the second session's (100.5), then, the
    # second session dropped, the third's (100.5).
    assert features["change_1d_pct"].tolist() == [
        round(100 * (101.0 / 100.5 - 1), 4),
        round(100 * (102.0 / 100.5 - 1), 4),
        round(100 * (103.0 / 100.5 - 1), 4),
    ]
    cycles = ["2024-01-04 19:15", "2024-01-05 19:15", "2024-01-05 19:45"]
    for cycle, row in zip(cycles, features.itertuples(), strict=True):
        closes = _seen(conn, cycle)["close"].tolist()
        assert closes[-1] == row.last
        assert round(100 * (closes[-1] / closes[-2] - 1), 4) == row.change_1d_pct
