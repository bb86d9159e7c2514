"""The minds on an OpenAI-compatible server through the real `openai` client, against a
chat-completions server on 127.0.0.1 streaming the chunk shapes of vLLM and Ollama
(tests/openai_server.py), with the guarantees the Claude minds have (test_claude.py)."""

import dagster as dg
import pytest

from tests.integration.helpers import assert_in_no_table, failure_text, materialize, query
from tests.openai_server import ChatServer
from workshop_dagster.resources import LLMResource

KEY = "sk-or-v1-test-DO-NOT-LEAK-0987654321"
LOOP = dg.AssetSelection.groups("market", "minds", "predictions")
CYCLE = "2026-03-30-19:15"
CYCLES = ["2026-03-30-09:15", "2026-03-30-12:15", "2026-03-30-19:15"]
NEXT = "2026-03-31-09:15"
MODEL = "qwen2.5:14b-instruct"
MINDS = ("macro", "flow", "contrarian")


@pytest.fixture
def server(workshop_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with ChatServer("vllm") as chat:
        yield chat


def chat(server: ChatServer, **overrides) -> LLMResource:
    from workshop_dagster.config.settings import load_settings

    options = {
        "provider": "openai",
        "base_url": server.url,
        "mind_model": MODEL,
        "synthesis_model": MODEL,
        "timeout_s": 3.0,
        "max_retries": 2,
        "replay_database": str(load_settings().database),
        **overrides,
    }
    return LLMResource(**options)


def run(keys, llm, **kwargs):
    return materialize(keys, selection=LOOP, llm=llm, raise_on_error=False, **kwargs)


def ledger(cycle: str = CYCLE) -> dict:
    rows = query(
        "select source, outcome, retries, input_tokens, cache_read_tokens, output_tokens, "
        "cost_usd from llm_calls where cycle_key = ? order by source",
        [cycle],
    )
    return rows.set_index("source").to_dict("index")


def test_a_cycle_on_a_vllm_server_runs_the_minds_at_once_and_reads_the_cached_prefix(server):
    server.latency_s = 1.0
    result = run(CYCLE, chat(server))
    assert result.success, failure_text(result)
    minds = [r for r in server.requests if r["kind"] in MINDS]
    (synthesis,) = server.calls("synthesis")
    assert len(minds) == 3
    assert max(r["start"] for r in minds) < min(r["end"] for r in minds), "concurrently"
    assert synthesis["start"] >= max(r["end"] for r in minds)
    first, *others = sorted(minds, key=lambda r: r["start"])
    assert all(r["start"] >= first["began"] for r in others), "after the first reply began"
    for r in [*minds, synthesis]:
        body = r["body"]
        assert body["stream"] and body["stream_options"] == {"include_usage": True}
        assert body["model"] == MODEL and body["messages"][0]["role"] == "system"
        assert r["headers"]["authorization"] == f"Bearer {KEY}"
    for r in minds:  # the opinion as a forced function call
        assert r["body"]["tool_choice"] == {
            "type": "function",
            "function": {"name": "submit_opinion"},
        }
        assert r["body"]["tools"][0]["function"]["parameters"]["required"] == [
            "stance",
            "narrative",
            "abstain",
        ]
    assert "tools" not in synthesis["body"], "the synthesis writes prose"
    # The minds' system message is byte-identical, so the server serves it from its cache to
    # the two that leave after the first began, and most of it to the synthesis.
    systems = {r["body"]["messages"][0]["content"] for r in minds}
    assert len(systems) == 1
    calls = ledger()
    assert calls[first["kind"]]["cache_read_tokens"] == 0
    for r in others:
        assert calls[r["kind"]]["cache_read_tokens"] > calls[r["kind"]]["input_tokens"]
    assert calls["synthesis"]["cache_read_tokens"] > 0
    assert {c["outcome"] for c in calls.values()} == {"ok"}
    # A local server: its tokens counted, its calls free.
    assert all(c["output_tokens"] == 120 and c["cost_usd"] == 0 for c in calls.values())
    memo = query("select title, body, model, abstained from memo")
    assert memo["title"][0] == "Rates Are the Story, Not the Headlines"
    assert memo["model"][0] == MODEL and not memo["abstained"][0]
    preds = query("select source, parse_status, subject from predictions").set_index("source")
    assert preds.loc["synthesis", "subject"] == "IWM"
    assert preds.loc["flow", "subject"] == "IWM vs QQQ"
    assert preds.loc["contrarian", "parse_status"] == "abstained"
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [
        (c.check_name, c.metadata) for c in checks if not c.passed
    ]
    written = query("select written_by from memo")["written_by"][0]
    assert written.startswith(f"openai at 127.0.0.1:{server.url.split(':')[2].split('/')[0]}")


def test_an_ollama_server_gives_the_same_tables_as_the_claude_path(workshop_env, monkeypatch):
    """Ollama's chunks (the whole tool call in one, no cached tokens); the tables a Claude cycle
    writes, with the same columns filled."""
    from tests.anthropic_server import MessagesServer
    from tests.conftest import SHARED_DATA, shared_path

    fixtures = shared_path(SHARED_DATA / "fixtures" / "anthropic")
    with ChatServer("ollama") as ollama, MessagesServer(fixtures) as anthropic:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        claude = chat(ollama, provider="anthropic", mind_model="claude-haiku-5-5")
        claude = LLMResource(**{**claude.model_dump(), "synthesis_model": "claude-sonnet-5-5"})
        assert run(CYCLES[0], claude).success
        result = run(CYCLE, chat(ollama))
        assert result.success, failure_text(result)
    assert all("prompt_tokens_details" not in r["usage"] for r in ollama.requests)
    tables = ("memo", "predictions", "mind_opinions", "llm_calls")
    for table in tables:
        rows = query(f"select * from {table} where cycle_key in (?, ?)", [CYCLES[0], CYCLE])
        filled = rows.notna().groupby(rows["cycle_key"]).any()
        # What depends on the history (a restatement of the morning's call) or the price aside.
        columns = [c for c in filled.columns if c not in ("cost_usd", "restates", "replaces")]
        assert filled.loc[CYCLE, columns].equals(filled.loc[CYCLES[0], columns]), table
    calls = ledger()
    assert all(c["cache_read_tokens"] == 0 and c["input_tokens"] > 0 for c in calls.values())


def test_a_rerun_makes_no_request_and_the_key_is_never_kept(server):
    assert run(CYCLES, chat(server)).success
    assert len(server.requests) == 12
    memos = query("select cycle_key, body from memo order by cycle_key")
    assert run(CYCLES, chat(server)).success
    assert len(server.requests) == 12, "a repeated backfill asks nothing"
    amend = {"workshop/amend": "true"}
    result = run(CYCLES, chat(server), tags=amend)
    assert result.success and len(server.requests) == 12, "a recomputation replays at $0"
    assert query("select distinct outcome from llm_calls")["outcome"].tolist() == ["replayed"]
    assert query("select cycle_key, body from memo order by cycle_key").equals(memos)
    logs = "\n".join(str(e) for e in dg.DagsterInstance.get().all_logs(result.run_id))
    assert KEY not in logs
    assert_in_no_table(KEY)


def test_rate_limits_errors_cut_streams_and_broken_chunks_are_retried(server):
    server.script["macro"] = ["429"]
    server.script["flow"] = ["500"]
    server.script["contrarian"] = ["cut"]
    server.script["synthesis"] = ["not_json"]
    result = run(CYCLE, chat(server))
    assert result.success, failure_text(result)
    calls = ledger()
    assert {m: calls[m]["retries"] for m in (*MINDS, "synthesis")} == dict.fromkeys(
        (*MINDS, "synthesis"), 1
    )
    assert len(server.calls("macro")) == 2 and len(server.calls("synthesis")) == 2
    # An error event in a stream that had begun, then a timeout: each sent again.
    server.script["macro"] = ["stream_error"]
    server.script["flow"] = ["hang"]
    result = run(CYCLES[1], chat(server, timeout_s=1.0))
    assert result.success, failure_text(result)
    assert ledger(CYCLES[1])["macro"]["retries"] == 1
    assert ledger(CYCLES[1])["flow"]["retries"] == 1


def test_a_server_that_stays_down_fails_the_cycle_naming_it_and_resuming_costs_nothing(server):
    server.script["macro"] = ["500"] * 10
    result = run(CYCLE, chat(server, max_retries=1))
    assert not result.success
    text = failure_text(result)
    assert f"macro of cycle {CYCLE}" in text and "still failed after 1 retries" in text
    tables = set(query("select table_name from information_schema.tables")["table_name"])
    assert "memo" not in tables, "nothing of the cycle is written"
    paid = query("select source, outcome from llm_spend order by source")
    assert set(paid["source"]) == {"macro", "flow", "contrarian"}
    asked = len(server.requests)
    server.script["macro"] = []
    assert run(CYCLE, chat(server)).success
    fresh = [r["kind"] for r in server.requests[asked:]]
    assert sorted(fresh) == ["macro", "synthesis"], "the replies already paid for are replayed"


def test_a_server_without_tools_and_models_that_answer_in_prose_are_read_not_crashed(server):
    # Ollama's 400 for a model without tool support: asked again without tools, and the rest
    # of the step asks for prose at once; the ledger says so.
    server.script["macro"] = ["no_tools"]
    result = run(CYCLE, chat(server))
    assert result.success, failure_text(result)
    later = [r for r in server.requests if r["kind"] in MINDS][1:]
    assert later and all("tools" not in r["body"] for r in later)
    assert {ledger()[m]["outcome"] for m in MINDS} == {"ok-untooled"}
    flow = query("select subject, confidence from predictions where source = 'flow'")
    assert flow["subject"][0] == "IWM vs QQQ"
    # A model that ignores the tools: its tag read from prose, its call printed as JSON in a
    # code block, prose in another language without a tag asked once to repair.
    server.script["macro"] = ["foreign"]
    server.script["flow"] = ["prose"]
    server.script["contrarian"] = ["prose_json"]
    result = run(CYCLES[1], chat(server))
    assert result.success, failure_text(result)
    outcomes = query(
        "select source, outcome from llm_calls where cycle_key = ? order by source, outcome",
        [CYCLES[1]],
    )
    assert outcomes.groupby("source")["outcome"].apply(list).to_dict() == {
        "contrarian": ["ok-text"],
        "flow": ["ok-text"],
        "macro": ["ok", "ok-text"],
        "synthesis": ["ok"],
    }
    opinions = query(
        "select mind, subject, abstained from mind_opinions where cycle_key = ? order by mind",
        [CYCLES[1]],
    ).set_index("mind")
    assert opinions.loc["flow", "subject"] == "IWM vs QQQ"
    assert opinions.loc["macro", "subject"] == "IWM" and opinions.loc["contrarian", "abstained"]
    # Prose that never says its call, twice: the mind abstains with the reason.
    server.script["macro"] = ["foreign", "foreign"]
    assert run(NEXT, chat(server)).success
    macro = query(
        "select abstained, abstain_reason from mind_opinions where mind = 'macro' "
        "and cycle_key = ?",
        [NEXT],
    )
    assert macro["abstained"][0]
    assert "neither called submit_opinion nor ended with the tag" in macro["abstain_reason"][0]


def test_a_wrong_key_or_model_fails_at_once_naming_the_setting_never_the_key(server):
    server.script["macro"] = ["401"]
    server.script["flow"] = ["401"]
    server.script["contrarian"] = ["401"]
    result = run(CYCLE, chat(server))
    assert not result.success
    text = failure_text(result)
    assert "OPENAI_API_KEY" in text and KEY not in text
    assert len(server.calls("macro")) == 1, "an auth error is not retried"
    logs = "\n".join(str(e) for e in dg.DagsterInstance.get().all_logs(result.run_id))
    assert KEY not in logs
    server.script["macro"] = ["404"]
    server.script["flow"] = ["404"]
    server.script["contrarian"] = ["404"]
    text = failure_text(run(CYCLE, chat(server)))
    assert "WORKSHOP_LLM_MODEL" in text and "ollama pull" in text
    assert_in_no_table(KEY)


def test_a_priced_model_is_charged_and_the_budget_stops_the_run_before_the_call(server):
    prices = '{"' + MODEL + '": [1.0, 5.0, 1.0, 0.1]}'
    assert run(CYCLE, chat(server, prices_json=prices)).success
    calls = ledger()
    for c in calls.values():
        expected = (c["input_tokens"] * 1.0 + c["output_tokens"] * 5.0) / 1e6
        expected += c["cache_read_tokens"] * 0.1 / 1e6
        assert c["cost_usd"] == pytest.approx(expected, abs=2e-6)
    asked = len(server.requests)
    result = run(CYCLES[0], chat(server, prices_json=prices, budget_usd=0.0001))
    assert not result.success and "budget of $0.00" in failure_text(result)
    assert len(server.requests) == asked


def test_a_server_that_reports_no_usage_is_charged_its_reservation(server):
    server.script["macro"] = ["no_usage"]
    assert run(CYCLE, chat(server)).success
    macro = ledger()["macro"]
    assert macro["outcome"] == "ok-estimated" and macro["input_tokens"] > 1000


def test_a_variant_on_a_local_model_runs_beside_the_offline_minds(server):
    """`qwen_local` (variants.yaml): the openai engine and its model on the server the
    resource names, while the code location's own minds stay offline."""
    offline = chat(server, provider="offline", mind_model="claude-haiku-5-5")
    llm = offline.for_variant("qwen_local")
    assert (llm.provider, llm.mind_model, llm.synthesis_model) == ("openai", *["qwen2.5:14b"] * 2)
    assert llm.base_url == server.url
    assert run(CYCLE, llm).success
    assert {r["body"]["model"] for r in server.requests} == {"qwen2.5:14b"}


def test_a_model_reply_carrying_instructions_or_html_is_refused_or_kept_as_text(server):
    """A tool call with a field of its own (the injection's `admin_override`) fails the check
    and is asked once to repair; prose with a <script> and instructions before a valid tag is
    read as the mind's narrative, text only: it changes no call and the site escapes it."""
    server.script["macro"] = ["inject"]
    server.script["flow"] = ["inject_prose"]
    result = run(CYCLE, chat(server))
    assert result.success, failure_text(result)
    assert len(server.calls("macro")) == 2, "the injected call was sent back for repair"
    opinions = query("select mind, narrative, subject from mind_opinions").set_index("mind")
    assert "admin mode" not in opinions.loc["macro", "narrative"]
    assert opinions.loc["flow", "narrative"].startswith("<script>")
    assert opinions.loc["flow", "subject"] == "IWM vs QQQ"  # the call its tag made, no other
    synthesis = query("select subject, confidence from predictions where source = 'synthesis'")
    assert synthesis["subject"][0] == "IWM" and synthesis["confidence"][0] < 1
