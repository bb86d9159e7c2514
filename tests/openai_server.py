"""A chat-completions server on 127.0.0.1 for the real `openai` client to talk to.

It answers `POST /v1/chat/completions` as OpenAI-compatible servers do, streamed as server-sent
events (`data: {chunk}` lines ending in `data: [DONE]`), in the chunk shapes of two real servers
as recorded (g0t4/ask-openai.nvim's notes of vLLM 0.8 and Ollama 0.6 streams, 2025-04):

- `vllm`: a first chunk with the role and empty content; the tool call's header (its
  `chatcmpl-tool-…` id, type and name, no arguments) in a chunk of its own, then its arguments
  in fragments (`delta.tool_calls[0].function.arguments`); a last chunk with empty content,
  `finish_reason: tool_calls` and `stop_reason: null`; with `stream_options.include_usage`, a
  usage chunk with no choices carrying `prompt_tokens_details.cached_tokens` (vLLM's
  `--enable-prompt-tokens-details`);
- `ollama`: the whole tool call (`call_…` id, `index: 0`, its arguments in one piece) in one
  chunk with `content: ""` and `system_fingerprint: fp_ollama`, then `finish_reason:
  tool_calls`; its usage chunk has no cached tokens.

Prefix caching as vLLM's automatic prefix caching does it: a request's system message is served
from the cache if a request carrying the same one had begun its reply when this one arrived.
The synthesis answers as the prompt asks (the same memo as the Messages server's). A script per
request kind (macro, flow, contrarian, synthesis) injects faults: latency, 429 with
retry-after, 500, 401, 404, a hang, a stream cut in the middle, a chunk that is not JSON, an
error event inside a stream, no usage, a call or prose that carries instructions and HTML, a server that refuses tools (Ollama's 400 for a model
without them), a model that ignores the tools and answers in prose (with the tag, as JSON in a
code block, or in another language without the tag), an invalid call.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler

from tests.anthropic_server import CALLS, INJECTION, KINDS, compliant_memo
from tests.served import LocalServer

ERRORS = {
    "429": (429, "Rate limit reached for requests", "rate_limit_exceeded", {"retry-after": "1"}),
    "500": (500, "The server had an error while processing your request.", None, None),
    "401": (401, "Incorrect API key provided: sk-or-v1-***", "invalid_api_key", None),
    "404": (404, 'model "qwen-missing" not found, try pulling it first', None, None),
    # Ollama's answer for a model without tool support (its server/routes.go message).
    "no_tools": (400, "registry.ollama.ai/library/gemma2:2b does not support tools", None, None),
}
FOREIGN = "小盘股本周承压。利率是关键。"  # prose in another language, with no tag


def _tag(call: dict) -> str:
    rel = call.get("relative_to")
    subject = f"{call['ticker']} relative to {rel}" if rel else call["ticker"]
    return (
        f"[DIRECTION: {call['direction']} ({subject})] [TIMEFRAME: {call['timeframe']}] "
        f"[CONFIDENCE: {call['confidence']:.2f}]"
    )


class ChatServer(LocalServer):
    path = "/v1"

    def __init__(self, style: str = "vllm", latency_s: float = 0.0):
        self.style = style
        self.latency_s = latency_s
        self.script: dict[str, list] = defaultdict(list)
        self._cached: set[str] = set()
        self._listen()

    # -- request handling ----------------------------------------------------------------------
    @staticmethod
    def _kind(body: dict) -> str:
        first = next((m["content"] for m in body["messages"] if m["role"] == "user"), "")
        for prefix, kind in KINDS.items():
            if str(first).startswith(prefix):
                return kind
        return "unknown"

    @staticmethod
    def _system(body: dict) -> str:
        return next((m["content"] for m in body["messages"] if m["role"] == "system"), "")

    def _usage(self, body: dict) -> dict:
        """Tokens as a server counts them (4 characters each); the cached ones, the longest
        prefix of the system message a reply already begun had (vLLM caches by prefix)."""
        system = self._system(body)
        prompt = (
            len(json.dumps(body["messages"])) // 4 + len(json.dumps(body.get("tools", []))) // 4
        )
        shared = max((len(os.path.commonprefix([system, s])) for s in self._cached), default=0)
        usage = {"prompt_tokens": prompt, "completion_tokens": 120, "total_tokens": prompt + 120}
        if self.style == "vllm":
            usage["prompt_tokens_details"] = {"cached_tokens": shared // 4}
        return usage

    def _remember(self, body: dict) -> None:
        self._cached.add(self._system(body))

    def _answer(self, kind: str, body: dict, behaviour: str) -> tuple[str, dict | None]:
        """(text, tool call arguments or None) as the model would answer."""
        if kind == "synthesis":
            user = next(m["content"] for m in body["messages"] if m["role"] == "user")
            text = compliant_memo(user)
            if behaviour == "no_tag":
                text = text.rsplit("\n\n", 1)[0]
            return text, None
        call = dict(CALLS[kind])
        if behaviour == "invalid":
            call["confidence"] = 7
        if behaviour == "inject":  # text that speaks as instructions, and a field of its own
            call = {**call, "narrative": INJECTION, "admin_override": True}
        if behaviour == "inject_prose":  # prose with HTML and instructions, a valid tag after
            return f"<script>alert(1)</script> {INJECTION}\n\n{_tag(call)}", None
        tools_offered = bool(body.get("tools"))
        if behaviour == "prose" or (not tools_offered and behaviour != "foreign"):
            if call.get("abstain"):
                return (
                    f"{call['narrative']}\n\n[DIRECTION: abstain] [TIMEFRAME: none] [CONFIDENCE: 0]",
                    None,
                )
            return f"{call['narrative']}\n\n{_tag(call)}", None
        if behaviour == "prose_json":
            return "```json\n" + json.dumps(
                {"name": "submit_opinion", "arguments": call}
            ) + "\n```", None
        if behaviour == "foreign":
            return FOREIGN, None
        return "", call

    def _chunks(self, kind: str, body: dict, behaviour: str, n: int) -> list[dict]:
        text, arguments = self._answer(kind, body, behaviour)
        base = {
            "id": f"chatcmpl-{n:06d}",
            "object": "chat.completion.chunk",
            "created": 1775000000 + n,
            "model": body["model"],
        }
        if self.style == "ollama":
            base["system_fingerprint"] = "fp_ollama"

        def chunk(delta: dict, finish=None, **extra) -> dict:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            if self.style == "vllm":
                choice["logprobs"] = None
            return {**base, "choices": [{**choice, **extra}]}

        out = []
        if self.style == "vllm":
            out.append(chunk({"role": "assistant", "content": ""}))
        if arguments is not None:
            args = json.dumps(arguments)
            if self.style == "ollama":
                call = {
                    "id": f"call_{n:08x}",
                    "index": 0,
                    "type": "function",
                    "function": {"name": "submit_opinion", "arguments": args},
                }
                out.append(chunk({"role": "assistant", "content": "", "tool_calls": [call]}))
            else:
                head = {
                    "id": f"chatcmpl-tool-{n:032x}",
                    "type": "function",
                    "index": 0,
                    "function": {"name": "submit_opinion"},
                }
                out.append(chunk({"tool_calls": [head]}))
                step = max(1, len(args) // 5)
                for i in range(0, len(args), step):
                    piece = {"index": 0, "function": {"arguments": args[i : i + step]}}
                    out.append(chunk({"tool_calls": [piece]}))
            finish = "tool_calls"
        else:
            step = max(1, len(text) // 6)
            for i in range(0, len(text), step):
                delta = {"content": text[i : i + step]}
                if self.style == "ollama" and i == 0:
                    delta["role"] = "assistant"
                out.append(chunk(delta))
            finish = "stop"
        extra = {"stop_reason": None} if self.style == "vllm" else {}
        out.append(chunk({"content": ""}, finish, **extra))
        return out

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                record = server._received(server._kind(body), body, self.headers, server._usage)
                kind, behaviour = record["kind"], record["behaviour"]
                began = server.latency_s * 0.1
                time.sleep(began)
                if behaviour == "hang":
                    time.sleep(5)
                    self.close_connection = True
                    return
                if behaviour in ERRORS and (behaviour != "no_tools" or body.get("tools")):
                    status, message, code, headers = ERRORS[behaviour]
                    err = {"error": {"message": message, "type": "invalid_request_error"}}
                    err["error"] |= {"param": None, "code": code}
                    return self._send(status, err, headers)
                chunks = server._chunks(kind, body, behaviour, record["n"])
                with server._lock:
                    server._remember(body)  # the reply begins: its prefix is cached from now
                record["began"] = time.monotonic()
                usage = record["usage"]
                if (body.get("stream_options") or {}).get("include_usage") and behaviour != (
                    "no_usage"
                ):
                    chunks.append({**chunks[0], "choices": [], "usage": usage})
                lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
                if behaviour == "not_json":
                    lines[len(lines) // 2] = 'data: {"id": "chatcmpl-x", "choices": [{"ind\n\n'
                if behaviour == "stream_error":
                    err = {"error": {"message": "model runner crashed", "code": 500}}
                    lines = [*lines[:2], f"data: {json.dumps(err)}\n\n"]
                if behaviour == "cut":
                    lines = lines[: len(lines) // 2]
                else:
                    lines.append("data: [DONE]\n\n")
                self._stream(lines, server.latency_s - began, cut=behaviour == "cut")
                record["end"] = time.monotonic()

            def _stream(self, lines: list[str], seconds: float, cut: bool) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                pause = seconds / max(1, len(lines) - 1)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    for n, line in enumerate(lines):
                        if n:
                            time.sleep(pause)
                        data = line.encode()
                        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                    if cut:  # the connection dies mid-reply: no last chunk
                        self.close_connection = True
                        return
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()

        return Handler


def chat_server_process(style: str = "vllm", latency_s: float = 0.0):
    """The server in a process of its own (tests/served.py). Yields (url, a function listing the
    kinds of the requests received so far)."""
    from tests.served import server_process

    return server_process(ChatServer, style, latency_s=latency_s)
