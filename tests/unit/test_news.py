import pandas as pd

from workshop_dagster.market.news import NEWS_COLUMNS, empty_news, parse_yfinance_news

NEW_LAYOUT = {
    "id": "abc",
    "content": {
        "title": "Small caps slide as yields climb",
        "pubDate": "2026-03-30T18:05:00Z",
        "provider": {"displayName": "Reuters"},
        "canonicalUrl": {"url": "https://example.com/a"},
    },
}
OLD_LAYOUT = {
    "title": "Small caps slide as yields climb",
    "publisher": "Reuters",
    "providerPublishTime": 1774893900,
    "link": "https://example.com/a",
}


FETCHED = pd.Timestamp("2026-03-30 15:00")


def test_both_yfinance_layouts_parse_to_naive_new_york_times():
    news = parse_yfinance_news({"IWM": [NEW_LAYOUT], "QQQ": [OLD_LAYOUT]}, FETCHED)
    assert list(news.columns) == list(NEWS_COLUMNS)
    assert len(news) == 1  # the same story under two tickers is one row
    row = news.iloc[0]
    assert row["tickers"] == "IWM,QQQ"
    assert row["published_at"] == pd.Timestamp("2026-03-30 14:05")  # 18:05 UTC = 14:05 EDT
    assert row["source"] == "Reuters"
    # Fetched at 15:00 (New York): visible from then, not from its publication at 14:05.
    assert row["visible_from"] == FETCHED


def test_items_without_time_or_title_are_dropped_and_empty_is_typed():
    news = parse_yfinance_news({"SPY": [{"content": {"title": ""}}, {"title": "x"}]}, FETCHED)
    assert news.empty
    assert news["published_at"].dtype == "datetime64[ns]"
    assert list(empty_news().columns) == list(NEWS_COLUMNS)
