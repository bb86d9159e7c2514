"""The chat-completions wire (OpenAI, Ollama, vLLM, llama.cpp, OpenRouter), both ways.

The minds' requests are built once, in the Messages shape (`prompting.py`: system blocks, a
`submit_opinion` tool, content blocks); the replay cache, the repair turn and the reply checks
(`replies.py`) read replies in that shape too. This module is the only place that knows the other
protocol: `chat_params` turns a request into `chat.completions.create` arguments, and
`reply_from_completion` turns the completion the server sent back into the reply shape every
other module reads. Pure: no client, no network.

Where servers differ (docs/operations.md, "Any model"):
- a mind's opinion is asked as a forced function call (a named `tool_choice`, which vLLM
  serves with guided decoding and Ollama and OpenRouter pass to the model); a server or model
  that refuses tools is asked again without them (`chat_params(..., tools=False)`), and a model
  that ignores them answers in prose: the system prompt says how to end such a reply (`TEXT_ANSWER`), and
  `replies.tool_input` reads the tag from the text;
- the synthesis writes prose, so it is sent no tools at all (vLLM refuses `auto` tool choice
  unless it was started with `--enable-auto-tool-choice`);
- cached prompt tokens are reported as `usage.prompt_tokens_details.cached_tokens` by servers
  that cache (OpenAI, vLLM with `--enable-prompt-tokens-details`, OpenRouter), and not at all
  by the others: the prefix is still the same bytes for the three minds, so a server that
  caches prefixes serves it once;
- usage arrives in a stream only with `stream_options={"include_usage": true}` (its own last
  chunk, with no choices); a server that sends none leaves the reply's usage unknown (`None`),
  and the engine charges the call its reserved estimate.
"""

from __future__ import annotations

import json

# Said to a model on the chat wire whenever it is offered the opinion tool: a model that cannot
# call tools still gives a reply the loop can read.
TEXT_ANSWER = (
    "If you cannot call the submit_opinion function, answer in plain text instead: your "
    "narrative, then one last line with your call as the tag "
    "[DIRECTION: up (TICKER)] [TIMEFRAME: 48h] [CONFIDENCE: 0.60] (direction up, down or flat; "
    "a pair as (IWM relative to QQQ)), or [DIRECTION: abstain] [TIMEFRAME: none] "
    "[CONFIDENCE: 0] to abstain."
)
STOP_REASONS = {"tool_calls": "tool_use", "stop": "end_turn", "length": "max_tokens"}


def chat_params(request: dict, tools: bool = True) -> dict:
    """`chat.completions.create` arguments for a Messages-shaped request, streamed with usage.
    `tools=False`: the same request for a server that refuses function calling."""
    # A mind's request (its opinion as a forced tool call): the prose fallback is said either way.
    opinion = bool(request.get("tools")) and "tool_choice" in request
    offered = tools and opinion
    system = "\n\n".join(block["text"] for block in request.get("system", []))
    if opinion:
        system = f"{system}\n\n{TEXT_ANSWER}"
    messages: list[dict] = [{"role": "system", "content": system}] if system else []
    for message in request["messages"]:
        messages.extend(_messages(message))
    params = {
        "model": request["model"],
        "max_tokens": request["max_tokens"],
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if offered:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool["name"],
                    "description": tool.get("description", ""),
                    "parameters": tool["input_schema"],
                },
            }
            for tool in request["tools"]
        ]
        choice = request["tool_choice"]
        if choice.get("type") == "tool":
            params["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    return params


def _messages(message: dict) -> list[dict]:
    """One Messages turn as chat messages: text stays text, a `tool_use` block becomes the
    assistant's `tool_calls`, a `tool_result` block a `tool` message answering it."""
    content = message["content"]
    if isinstance(content, str):
        return [{"role": message["role"], "content": content}]
    texts = [b["text"] for b in content if b.get("type") == "text"]
    if message["role"] == "assistant":
        out = {"role": "assistant", "content": "\n".join(texts) or None}
        calls = [
            {
                "id": b["id"],
                "type": "function",
                "function": {"name": b["name"], "arguments": _arguments(b.get("input"))},
            }
            for b in content
            if b.get("type") == "tool_use"
        ]
        if calls:
            out["tool_calls"] = calls
        return [out]
    out = [
        {"role": "tool", "tool_call_id": b["tool_use_id"], "content": str(b.get("content", ""))}
        for b in content
        if b.get("type") == "tool_result"
    ]
    if texts:
        out.append({"role": "user", "content": "\n".join(texts)})
    return out


def _arguments(value) -> str:
    """A tool call's arguments as the wire carries them: the JSON text it was sent as."""
    return value if isinstance(value, str) else json.dumps(value)


def reply_from_completion(completion: dict) -> dict:
    """A chat completion (as `model_dump()` gives it) as the reply the loop reads:
    {'content': [text and tool_use blocks], 'usage': {...} or None, 'stop_reason': ...}.
    A tool call's arguments that are not a JSON object are kept as their text, which the
    opinion check refuses (and the mind is asked once to repair)."""
    choices = completion.get("choices") or []
    if not choices:
        raise ValueError("the completion has no choices")
    message = choices[0].get("message") or {}
    content = []
    text = message.get("content")
    if isinstance(text, str) and text.strip():
        content.append({"type": "text", "text": text})
    for n, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        raw = function.get("arguments") or ""
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            arguments = raw
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"call_{n}",
                "name": function.get("name"),
                "input": arguments,
            }
        )
    finish = choices[0].get("finish_reason")
    return {
        "content": content,
        "usage": usage_of_completion(completion.get("usage")),
        "stop_reason": STOP_REASONS.get(finish, finish),
    }


def usage_of_completion(usage: dict | None) -> dict | None:
    """The ledger's token counts from a completion's `usage` (None when the server sent none):
    cached prompt tokens are counted as cache reads, the rest of the prompt as input."""
    if not usage:
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    return {
        "input_tokens": max(prompt - cached, 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "cache_write_tokens": 0,
        "cache_read_tokens": min(cached, prompt),
    }


def refuses_tools(message: str) -> bool:
    """Whether a 400's message says the server or model cannot take tools (Ollama: "... does
    not support tools"; vLLM: "... tool choice requires --enable-auto-tool-choice ...";
    llama.cpp without --jinja: "tools param requires --jinja flag")."""
    text = message.lower()
    return "tool" in text and any(
        word in text for word in ("not support", "requires", "unsupported", "not enabled")
    )
