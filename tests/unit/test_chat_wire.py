"""The chat-completions wire, both ways (minds/chat_wire.py), and a prose reply read as an
opinion (minds/replies.text_opinion)."""

import pytest

from workshop_dagster.minds.chat_wire import (
    TEXT_ANSWER,
    chat_params,
    refuses_tools,
    reply_from_completion,
    usage_of_completion,
)
from workshop_dagster.minds.prompting import OPINION_TOOL, InvalidReply
from workshop_dagster.minds.replies import text_opinion, with_repair
from workshop_dagster.registry.server_urls import is_local, public_url, server_host

REQUEST = {
    "model": "qwen2.5:14b",
    "max_tokens": 1200,
    "tools": [OPINION_TOOL],
    "tool_choice": {"type": "tool", "name": "submit_opinion"},
    "system": [
        {"type": "text", "text": "house rules", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "cycle data", "cache_control": {"type": "ephemeral"}},
    ],
    "messages": [{"role": "user", "content": "You are the Macro mind."}],
}


def test_a_mind_request_becomes_a_forced_function_call_with_the_prose_fallback_said():
    params = chat_params(REQUEST)
    assert params["messages"][0] == {
        "role": "system",
        "content": f"house rules\n\ncycle data\n\n{TEXT_ANSWER}",
    }
    assert params["messages"][1] == {"role": "user", "content": "You are the Macro mind."}
    (tool,) = params["tools"]
    assert tool["function"]["parameters"] is OPINION_TOOL["input_schema"]
    assert params["tool_choice"] == {"type": "function", "function": {"name": "submit_opinion"}}
    assert params["stream"] and params["stream_options"] == {"include_usage": True}
    assert "cache_control" not in str(params)
    # A server that refuses tools gets the same conversation, without them.
    bare = chat_params(REQUEST, tools=False)
    assert "tools" not in bare and "tool_choice" not in bare
    assert bare["messages"] == params["messages"]
    # The synthesis writes prose: no tools, no fallback sentence.
    synthesis = {k: v for k, v in REQUEST.items() if k != "tool_choice"}
    assert "tools" not in chat_params(synthesis)
    assert TEXT_ANSWER not in chat_params(synthesis)["messages"][0]["content"]


def test_a_repair_turn_answers_the_tool_call_it_refuses():
    reply = {
        "content": [
            {"type": "text", "text": "thinking"},
            {"type": "tool_use", "id": "call_1", "name": "submit_opinion", "input": {"x": 1}},
        ]
    }
    params = chat_params(with_repair(REQUEST, reply, "unexpected fields ['x']"))
    assistant, tool = params["messages"][2:]
    assert assistant == {
        "role": "assistant",
        "content": "thinking",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "submit_opinion", "arguments": '{"x": 1}'},
            }
        ],
    }
    assert tool["role"] == "tool" and tool["tool_call_id"] == "call_1"
    assert "unexpected fields" in tool["content"]


def test_a_completion_becomes_the_reply_the_checks_read():
    completion = {
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "content": "",
                    "tool_calls": [
                        {"id": "call_a", "function": {"name": "submit_opinion", "arguments": "{"}}
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 80,
            "prompt_tokens_details": {"cached_tokens": 700},
        },
    }
    reply = reply_from_completion(completion)
    # Arguments that are not JSON are kept as text: the opinion check refuses them.
    assert reply["content"] == [
        {"type": "tool_use", "id": "call_a", "name": "submit_opinion", "input": "{"}
    ]
    assert reply["stop_reason"] == "tool_use"
    assert reply["usage"] == {
        "input_tokens": 300,
        "output_tokens": 80,
        "cache_write_tokens": 0,
        "cache_read_tokens": 700,
    }
    assert usage_of_completion(None) is None  # a server that reports none: unknown, not 0
    with pytest.raises(ValueError, match="no choices"):
        reply_from_completion({"choices": []})


def test_prose_replies_are_read_from_their_tag_or_their_json():
    fields = text_opinion(
        "Small caps lag.\n\n[DIRECTION: down (IWM relative to QQQ)] [TIMEFRAME: 48h] "
        "[CONFIDENCE: 0.55]"
    )
    assert fields == {
        "stance": "bearish",
        "narrative": "Small caps lag.",
        "abstain": False,
        "ticker": "IWM",
        "direction": "down",
        "timeframe": "48h",
        "confidence": 0.55,
        "relative_to": "QQQ",
    }
    assert text_opinion("Nothing.\n[DIRECTION: abstain] [TIMEFRAME: none] [CONFIDENCE: 0]")[
        "abstain"
    ]
    printed = '```json\n{"name": "submit_opinion", "arguments": {"stance": "neutral"}}\n```'
    assert text_opinion(printed) == {"stance": "neutral"}
    with pytest.raises(InvalidReply, match="neither called submit_opinion nor ended with the tag"):
        text_opinion("小盘股本周承压。")
    with pytest.raises(InvalidReply, match="could not be read"):
        text_opinion("Up!\n[DIRECTION: up (SPY)] [TIMEFRAME: someday] [CONFIDENCE: 0.6]")


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:11434/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://[::1]:8080/v1", True),
        ("https://openrouter.ai/api/v1", False),
        ("http://8.8.8.8/v1", False),
    ],
)
def test_a_server_on_this_machine_or_network_is_local(url, local):
    assert is_local(url) is local


def test_the_host_is_named_without_the_credentials_a_url_carries():
    url = "https://user:secret@llm.example.com:8443/v1"
    assert server_host(url) == "llm.example.com:8443"
    assert public_url(url) == "https://llm.example.com:8443/v1"
    assert public_url("http://localhost:11434/v1") == "http://localhost:11434/v1"


def test_servers_that_refuse_tools_are_recognised_by_their_messages():
    assert refuses_tools("registry.ollama.ai/library/gemma2:2b does not support tools")
    assert refuses_tools(
        '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
    )
    assert refuses_tools("tools param requires --jinja flag")
    assert not refuses_tools("maximum context length is 8192 tokens")
