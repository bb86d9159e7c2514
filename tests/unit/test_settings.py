"""Settings are validated when the code location loads: each error names its variable."""

import pytest

from workshop_dagster.config.settings import SettingsError, load_settings


def test_the_defaults_are_valid():
    s = load_settings({})
    assert (s.market, s.llm, s.start, s.scoring_interval_s) == ("sim", "offline", "2025-01-02", 300)
    assert (s.cycle_cron, s.cycle_skip) == ("15,45 9-15,19 * * 1-5", ())


def test_skipped_ticks_are_cron_strings():
    told = {
        "WORKSHOP_CYCLE_CRON": "*/30 9-16 * * 1-5",
        "WORKSHOP_CYCLE_SKIP": "0 9 * * *; 30 16 * * *",
    }
    assert load_settings(told).cycle_skip == ("0 9 * * *", "30 16 * * *")
    assert load_settings({"WORKSHOP_CYCLE_SKIP": "none"}).cycle_skip == ()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"WORKSHOP_START": "2030-01-01"}, "WORKSHOP_START='2030-01-01' must be from 2000-01-03"),
        ({"WORKSHOP_START": "yesterday-ish"}, "WORKSHOP_START='yesterday-ish' is not a date"),
        (
            {"WORKSHOP_PORTFOLIO_GROSS_CAP": "2"},
            "WORKSHOP_PORTFOLIO_GROSS_CAP=2.0 is out of range: gross_cap accepts 0 to 1",
        ),
        (
            {"WORKSHOP_SCORING_INTERVAL_S": "abc"},
            "WORKSHOP_SCORING_INTERVAL_S='abc' is not an integer",
        ),
        (
            {"WORKSHOP_SCORING_INTERVAL_S": "0"},
            "WORKSHOP_SCORING_INTERVAL_S='0' is not an integer from 10",
        ),
        (
            {"WORKSHOP_CYCLE_CRON": "every day at 9"},
            "WORKSHOP_CYCLE_CRON='every day at 9' is not a five-field cron",
        ),
        ({"WORKSHOP_CYCLE_CRON": "15 25 * * 1-5"}, "WORKSHOP_CYCLE_CRON"),
        (
            {"WORKSHOP_CYCLE_SKIP": "45 19 * * *; at noon"},
            "WORKSHOP_CYCLE_SKIP='45 19 * * *; at noon': 'at noon' is not a five-field cron",
        ),
        (
            {"WORKSHOP_CYCLE_CRON": "15 19 * * 1-5", "WORKSHOP_CYCLE_SKIP": "15 19 * * *"},
            "skips every tick of WORKSHOP_CYCLE_CRON='15 19 * * 1-5': no cycle would ever run",
        ),
        (
            {"WORKSHOP_LLM": "gpt"},
            "WORKSHOP_LLM='gpt' is not an engine: use offline, anthropic, openai",
        ),
        ({"WORKSHOP_LLM": "openai"}, "WORKSHOP_LLM=openai needs WORKSHOP_LLM_MODEL"),
        (
            {"WORKSHOP_LLM": "openai", "WORKSHOP_LLM_MODEL": "q", "WORKSHOP_LLM_BASE_URL": "x:1"},
            "WORKSHOP_LLM_BASE_URL 'x:1' is not a URL",
        ),
        (
            {"WORKSHOP_LLM": "openai", "WORKSHOP_LLM_MODEL": "q", "WORKSHOP_LLM_BATCH": "true"},
            "WORKSHOP_LLM=openai has no Message Batches",
        ),
        (
            {"WORKSHOP_LLM_BASE_URL": "https://me:hunter2@llm.example.com/v1"},
            "WORKSHOP_LLM_BASE_URL carries a user or password",
        ),
        (
            {
                "WORKSHOP_LLM": "openai",
                "WORKSHOP_LLM_MODEL": "qwen/qwen-2.5-72b-instruct",
                "WORKSHOP_LLM_BASE_URL": "https://openrouter.ai/api/v1",
            },
            "has no price for 'qwen/qwen-2.5-72b-instruct' at https://openrouter.ai/api/v1",
        ),
        ({"WORKSHOP_LLM": "anthropic"}, "WORKSHOP_LLM=anthropic needs ANTHROPIC_API_KEY"),
        ({"WORKSHOP_LLM": "anthropic", "ANTHROPIC_API_KEY": "  "}, "needs ANTHROPIC_API_KEY"),
        (
            {"WORKSHOP_MARKET": "bogus"},
            "WORKSHOP_MARKET='bogus' is not a market source: use sim, csv:PATH",
        ),
        (
            {"WORKSHOP_MARKET": "csv:/no/such/folder"},
            "WORKSHOP_MARKET='csv:/no/such/folder': /no/such/folder has no daily",
        ),
        ({"WORKSHOP_SEED": "seven"}, "WORKSHOP_SEED='seven' is not an integer"),
        (
            {"WORKSHOP_LLM_MAX_TOKENS": "-5"},
            "WORKSHOP_LLM_MAX_TOKENS='-5' is not an integer from 64",
        ),
        ({"WORKSHOP_LLM_TIMEOUT_S": "nan"}, "WORKSHOP_LLM_TIMEOUT_S='nan' is not a number"),
        ({"WORKSHOP_LLM_BUDGET_USD": "lots"}, "WORKSHOP_LLM_BUDGET_USD='lots' is not a number"),
        ({"WORKSHOP_LLM_REFRESH": "maybe"}, "WORKSHOP_LLM_REFRESH='maybe' is not true or false"),
        ({"WORKSHOP_LLM_PRICES": "{not json"}, "WORKSHOP_LLM_PRICES must be JSON"),
        ({"WORKSHOP_INTRADAY": "maybe"}, "WORKSHOP_INTRADAY='maybe' is not true or false"),
        (
            {"WORKSHOP_NEWS_FEEDS": "/no/such/feeds.yaml"},
            "WORKSHOP_NEWS_FEEDS='/no/such/feeds.yaml': /no/such/feeds.yaml: cannot be read",
        ),
        (
            {"WORKSHOP_SITE_URL": "javascript:alert(1)"},
            "WORKSHOP_SITE_URL='javascript:alert(1)' must be an http(s)",
        ),
    ],
)
def test_a_bad_setting_names_its_variable_and_what_it_accepts(env, says):
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    assert says in str(err.value)


def test_a_csv_folder_with_daily_and_rates_is_accepted(tmp_path):
    (tmp_path / "daily").mkdir()
    (tmp_path / "rates").mkdir()
    assert load_settings({"WORKSHOP_MARKET": f"csv:{tmp_path}"}).market == f"csv:{tmp_path}"


def test_a_feeds_file_is_checked_entry_by_entry(tmp_path):
    bad = {
        "feeds: []": None,  # no feed: valid, but needs a user agent
        'user_agent: "x y@z"\nfeeds:\n  - {name: Fed}': "feed 1 (Fed) needs exactly one of url and query",
        'user_agent: "x y@z"\nfeeds:\n  - {name: Fed, url: "ftp://x"}': "is not http(s)",
        "user_agent: x\nfeeds: nope": "needs a `feeds:` list",
    }
    for text, says in bad.items():
        path = tmp_path / "feeds.yaml"
        path.write_text(text)
        with pytest.raises(SettingsError) as err:
            load_settings({"WORKSHOP_NEWS_FEEDS": str(path)})
        assert (says or "needs a user_agent") in str(err.value)
    assert load_settings({"WORKSHOP_NEWS_FEEDS": "none"}).news_feeds == ""
    assert load_settings({}).news_feeds.endswith("news_feeds.yaml")
