"""The news archive: items stored once, each cycle reads what was visible at its time."""

import duckdb
import pandas as pd
import pytest

from workshop_dagster.market import news_archive
from workshop_dagster.market.news import finish, tag_tickers

T = pd.Timestamp


def _items(*rows) -> pd.DataFrame:
    """Items as a feed's parser returns them: (id, published, fetched, title, url)."""
    return finish(
        pd.DataFrame(
            [
                {
                    "item_id": i,
                    "published_at": T(p),
                    "fetched_at": T(f),
                    "source": "Wire",
                    "feed": "test",
                    "title": title,
                    "summary": "",
                    "url": url,
                    "tickers": "SPY",
                }
                for i, p, f, title, url in rows
            ]
        )
    )


@pytest.fixture
def conn():
    with duckdb.connect(":memory:") as c:
        yield c


CYCLE = T("2026-03-30 12:15")


def test_an_item_is_read_from_the_later_of_its_publication_and_first_fetch(conn):
    news_archive.store(
        conn,
        _items(
            ("a", "2026-03-30 11:00", "2026-03-30 11:05", "Seen at 11:05", "u/a"),
            # Published before the cycle but first fetched one minute after it.
            ("b", "2026-03-30 10:00", "2026-03-30 12:16", "Fetched late", "u/b"),
            # Published one minute after the cycle.
            ("c", "2026-03-30 12:16", "2026-03-30 12:16", "Published late", "u/c"),
            ("d", "2026-03-29 12:14", "2026-03-29 12:14", "A day and a minute before", "u/d"),
        ),
    )
    seen = news_archive.visible(conn, [CYCLE])
    assert seen["item_id"].tolist() == ["a"]
    assert news_archive.visible(conn, [T("2026-03-30 12:16")])["item_id"].tolist() == [
        "a",
        "b",
        "c",
    ]


def test_a_rerun_after_new_items_arrived_reads_the_same_view(conn):
    news_archive.store(conn, _items(("a", "2026-03-30 11:00", "2026-03-30 11:00", "A", "u/a")))
    before = news_archive.visible(conn, [CYCLE])
    # Later, a live run fetches more, including a story published before the cycle.
    news_archive.store(
        conn,
        _items(
            ("x", "2026-03-30 09:00", "2026-03-30 19:00", "Old story, new fetch", "u/x"),
            ("a", "2026-03-30 11:00", "2026-03-30 19:00", "A", "u/a"),
        ),
    )
    pd.testing.assert_frame_equal(news_archive.visible(conn, [CYCLE]), before)
    stored = news_archive.items(conn, ["a"])
    assert stored["visible_from"].tolist() == [T("2026-03-30 11:00")], "a refetch moves nothing"


def test_the_same_story_from_two_feeds_is_stored_once(conn):
    added = news_archive.store(
        conn,
        _items(
            ("a", "2026-03-30 11:00", "2026-03-30 11:00", "Fed holds rates", "https://x/s?utm=1"),
            ("b", "2026-03-30 11:02", "2026-03-30 11:02", "Fed holds rates", "https://x/s"),
            ("c", "2026-03-30 11:03", "2026-03-30 11:03", "fed holds rates!", ""),
        ),
    )
    assert added == 1
    # One story: kept once, tagged with what every feed of the fetch tagged it with.
    assert (
        news_archive.store(
            conn, _items(("z", "2026-03-30 11:30", "2026-03-30 11:30", "Fed holds rates", ""))
        )
        == 0
    )
    assert news_archive.visible(conn, [CYCLE])["item_id"].tolist() == ["a"]


def test_a_feeds_later_display_time_delays_visibility():
    frame = _items(("a", "2026-03-30 11:00", "2026-03-30 11:00", "A", "u"))
    frame["display_at"] = T("2026-04-02 09:00")  # Yahoo's displayTime, days after pubDate
    assert finish(frame)["visible_from"].tolist() == [T("2026-04-02 09:00")]


def test_tickers_are_tagged_from_symbols_and_company_names():
    assert tag_tickers("Nvidia and $AAPL rally; small caps lag", ["TSLA"]) == "AAPL,IWM,NVDA,TSLA"
    assert tag_tickers("CEO says AI demand is strong") == ""  # no universe symbol or name


def test_the_simulator_publishes_the_same_news_for_a_seed_and_only_after_the_fact():
    from workshop_dagster.market.simulator import SimulatedMarket

    a = SimulatedMarket(7).news([], "2026-01-01", "2026-03-31 23:59")
    b = SimulatedMarket(7).news([], "2026-01-01", "2026-03-31 23:59")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 10 and a["source"].str.startswith("simulated: ").all()
    assert not SimulatedMarket(8).news([], "2026-01-01", "2026-03-31 23:59").equals(a)
    # A session's recap comes after its close, a Fed decision at 14:00: never before the fact.
    times = a["visible_from"].dt.strftime("%H:%M")
    fed = a["source"] == "simulated: Federal Reserve"
    assert (times[fed] == "14:00").all() and (times[~fed] >= "16:00").all()


def test_a_span_without_any_headline_gives_a_typed_empty_frame():
    from workshop_dagster.market.simulator import SimulatedMarket

    # A Sunday morning: no session, nothing published.
    quiet = SimulatedMarket(7).news([], "2026-03-29 08:00", "2026-03-29 09:00")
    assert quiet.empty and quiet["visible_from"].dtype == "datetime64[ns]"


def test_duplicates_in_one_fetch_are_merged_into_the_first(conn):
    items = _items(
        ("a", "2026-03-30 11:00", "2026-03-30 11:00", "Nvidia and Tesla slide", "https://x/s"),
        ("b", "2026-03-30 11:01", "2026-03-30 11:01", "Nvidia and Tesla slide", "https://x/s?r=1"),
    )
    items.loc[items["item_id"] == "b", "tickers"] = "NVDA,TSLA"
    assert news_archive.store(conn, items) == 1
    stored = news_archive.items(conn, ["a"])
    assert stored["tickers"].tolist() == ["NVDA,SPY,TSLA"]


def test_a_feeds_text_is_one_line_of_bounded_length():
    frame = _items(("a", "2026-03-30 11:00", "2026-03-30 11:00", "x" * 5000 + "\n\nmore", "u"))
    assert len(frame["title"].iloc[0]) == 300 and "\n" not in frame["title"].iloc[0]


def test_a_flooding_feed_cannot_crowd_the_others_out_of_a_cycles_view(conn):
    flood = _items(
        *[
            (f"f{i}", f"2026-03-30 11:{i:02d}", "2026-03-30 11:59", f"Flood {i}", "")
            for i in range(50)
        ]
    ).assign(feed="flood")
    others = _items(
        *[
            (f"o{i}", f"2026-03-30 0{i + 1}:00", "2026-03-30 09:00", f"Fed {i}", "")
            for i in range(3)
        ]
    ).assign(feed="fed")
    news_archive.store(conn, pd.concat([flood, others], ignore_index=True))
    view = news_archive.visible(conn, [CYCLE]).merge(
        conn.execute("select item_id, feed from news_archive").fetchdf(), on="item_id"
    )
    # The newest 20 are all the flood's; the Fed's three older items keep their place, and
    # the flood fills what is left of the view.
    assert view["feed"].value_counts().to_dict() == {"flood": 17, "fed": 3}
