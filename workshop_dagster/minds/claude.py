"""The Claude minds: the same two methods as the offline engine, through the `anthropic` client.

- The three minds run concurrently (a thread each); the synthesis follows. The first mind's
  reply is streamed and the other two are sent when it begins: the API serves a prompt prefix
  from its cache only once a request carrying it has begun its reply, so the two then read the
  cycle's data from the cache instead of each writing it again, for one reply-start of wall time.
- Every request goes through a replay cache keyed by (mind, model, prompt hash): a re-run whose
  prompts did not change makes no API call. `refresh=True` forces fresh calls.
- Every call is written to the ledger: tokens (cache reads and writes included), cost from the
  configured price table, latency, retries, outcome.
- A per-run dollar budget stops the run before the call that would cross it (the books: replay
  writer, budget, ledger, are `claude_books.CallBooks`).
- 408, 409, 429, 5xx, timeouts and lost connections are retried by the anthropic client itself
  (`max_retries`, its exponential backoff, the API's `retry-after`); a reply that arrives but
  cannot be read (malformed JSON, a stream the SDK cannot assemble) is sent once more by us; a
  reply that fails validation is asked once to repair itself, then the mind abstains with the
  reason. Any other 4xx fails at once: an authentication error names the setting to fix, never
  the key.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..mind_registry import mind_names
from ..settings import LLMSettings
from .claude_batches import BatchCalls
from .claude_books import CallBooks
from .cycle_context import CycleContext
from .llm_errors import LLMCallFailed, LLMConfigError, MalformedStream
from .prompting import (
    InvalidReply,
    mind_request,
    opinion_from_tool_input,
    prompt_hash,
    synthesis_request,
)
from .replies import assemble_memo, memo_problem, reply_text, tool_input, with_repair
from .spend import cost_usd, price_table, usage_of
from .types import Memo, Opinion

NOT_LOOKED_UP = object()
_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def _sdk_client(timeout_s: float, max_retries: int):
    """One `anthropic.Anthropic` per process and settings, shared by every engine (each step
    builds one): building it loads the TLS trust store (holding the GIL; docs/performance.md), and a shared
    client keeps its connections to the API alive from one step to the next."""
    import os

    import anthropic

    api_key = os.environ.get("ANTHROPIC_API_KEY")
    if not api_key:
        raise LLMConfigError("WORKSHOP_LLM=anthropic needs ANTHROPIC_API_KEY in the environment")
    key = (
        hashlib.sha256(api_key.encode()).hexdigest(),
        os.environ.get("ANTHROPIC_BASE_URL"),
        timeout_s,
        max_retries,
    )
    with _clients_lock:
        if key not in _clients:
            _clients[key] = anthropic.Anthropic(max_retries=max_retries, timeout=timeout_s)
        return _clients[key]


class ClaudeEngine(CallBooks, BatchCalls):
    """Opinions and memos from Claude, with replay, ledger, budget and fault handling."""

    name = "anthropic"

    def __init__(
        self,
        config: LLMSettings,
        replay,
        client=None,
        sleep: Callable[[float], None] = time.sleep,
        spend=None,
        personas: Path | None = None,
    ):
        self.config = config
        # A variant's persona files (variants.yaml `personas`), replacing the project's.
        self.personas = personas
        self.prices = price_table(config.prices_json)
        self._client = client
        self._sleep = sleep  # paces the batch polls
        self._lock = threading.Lock()
        self._open_books(replay, spend, preload=not config.refresh)

    @property
    def writer(self) -> str:
        """The models and prompts the cycle's memo and opinions come from."""
        from .prompting import prompts_digest

        cfg = self.config
        return (
            f"anthropic: minds {cfg.mind_model}, synthesis {cfg.synthesis_model}, prompts "
            f"{prompts_digest(self.personas)}"
        )

    # -- client and calls --------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = _sdk_client(self.config.timeout_s, self.config.max_retries)
        return self._client

    def call(
        self,
        source: str,
        request: dict,
        cycle_key: str | None = None,
        cached: dict | None | object = NOT_LOOKED_UP,
        on_reply_start: Callable[[], None] | None = None,
    ) -> dict:
        """One request: from the replay cache (`cached`: what the caller found there, None for
        nothing), or from the API with retries. With `on_reply_start` the reply is streamed and
        that is called at its first event. Returns the reply as
        {'content': [...], 'usage': {...}}."""
        import anthropic

        key = prompt_hash(request)
        model = request["model"]
        if not self.config.refresh:
            if cached is NOT_LOOKED_UP:
                (cached,) = self._replayed([(source, request)])
            if cached is not None:
                self._record(
                    cycle_key, source, model, key, cached["usage"], 0.0, 0, "replayed", 0.0
                )
                return cached
        estimate = self._reserve(request)
        started, resent = time.monotonic(), 0
        self._write_unsaved()

        def failed(exc, retries: int, message: str) -> LLMCallFailed:
            elapsed = time.monotonic() - started
            self._record(
                cycle_key, source, model, key, None, elapsed, retries,
                f"failed: {type(exc).__name__}", 0.0,
            )  # fmt: skip
            self._release(estimate)
            return LLMCallFailed(message)

        while True:
            try:
                message, retries = self._send(request, on_reply_start)
                retries += resent
                break
            except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
                self._release(estimate)
                raise LLMConfigError(
                    f"Anthropic refused the credentials ({exc.status_code}): check "
                    "ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL if you set one)"
                ) from None
            except anthropic.NotFoundError as exc:
                self._release(estimate)
                raise LLMConfigError(
                    f"model {model!r} was not found ({exc.status_code}): check "
                    "WORKSHOP_LLM_MODEL / WORKSHOP_LLM_SYNTHESIS_MODEL"
                ) from None
            except (
                anthropic.APIResponseValidationError,
                json.JSONDecodeError,
                MalformedStream,
            ) as exc:
                # A reply arrived but cannot be read: sent once more, then the call fails.
                if resent:
                    raise failed(
                        exc,
                        resent,
                        f"{source} of cycle {cycle_key}: the API's reply could not be read twice "
                        f"({type(exc).__name__}: {_error_message(exc)})",
                    ) from None
                resent = 1
            except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
                status = getattr(exc, "status_code", None)
                if status is not None and status < 500 and status not in RETRIED_4XX:
                    raise failed(
                        exc,
                        resent,
                        f"the API rejected the request for {source} of cycle {cycle_key}: "
                        f"{_error_message(exc)}",
                    ) from None
                # The client retried it `max_retries` times already, with its backoff.
                retries = self.config.max_retries + resent
                raise failed(
                    exc,
                    retries,
                    f"{source} of cycle {cycle_key}: the API still failed after {retries} "
                    f"retries ({type(exc).__name__}: {_error_message(exc)})",
                ) from None
        latency = time.monotonic() - started
        reply = {
            "content": [block.model_dump() for block in message.content],
            "usage": usage_of(message),
            "stop_reason": message.stop_reason,
        }
        cost = cost_usd(self.prices, model, reply["usage"])
        with self._lock:
            self.spent_usd += cost - estimate
        self._record(cycle_key, source, model, key, reply["usage"], latency, retries, "ok", cost)
        self._store(source, model, key, reply)
        return reply

    def _send(self, request: dict, on_reply_start: Callable[[], None] | None) -> tuple:
        """(the Message, the retries the client took to get it)."""
        if on_reply_start is None:
            raw = self.client.messages.with_raw_response.create(**request)
            return raw.parse(), raw.retries_taken
        return self._streamed(request, on_reply_start)

    def _streamed(self, request: dict, on_reply_start: Callable[[], None]) -> tuple:
        """The same Message as `create`, streamed so the caller learns when the reply begins.
        A stream the SDK cannot assemble (its accumulator raises IndexError, AssertionError,
        KeyError... on events out of order) is a malformed reply, sent again as one."""
        import anthropic

        try:
            with self.client.messages.stream(**request) as stream:
                for _event in stream:
                    on_reply_start()
                    break
                message = stream.get_final_message()
                # The client numbers its attempts in this header of the request it sent.
                retries = stream.response.request.headers.get("x-stainless-retry-count", "0")
                return message, int(retries)
        except anthropic.APIError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the SDK's accumulator raised
            raise MalformedStream(f"{type(exc).__name__}: {exc}") from exc

    # -- the engine interface ----------------------------------------------------------------
    @property
    def batches(self) -> bool:
        return self.config.batch

    def opinions(self, context: CycleContext) -> list[Opinion]:
        """The three minds at once: one replay lookup, then the calls it misses concurrently,
        all but the first sent once the first one's reply has begun (its prefix is cached)."""
        cfg = self.config
        names = mind_names()
        requests = [
            mind_request(m, context, cfg.mind_model, cfg.max_tokens, self.personas) for m in names
        ]
        cached = self._replayed(list(zip(names, requests, strict=True)))
        missed = [i for i, reply in enumerate(cached) if reply is None]
        if missed:
            self.client  # noqa: B018 - built here, not by three threads at once
        prefix_cached = threading.Event()

        def opinion(i: int) -> Opinion:
            if len(missed) < 2 or i not in missed:
                return self._opinion(context, names[i], requests[i], cached[i])
            if i != missed[0]:
                prefix_cached.wait(cfg.timeout_s)
                return self._opinion(context, names[i], requests[i], None)
            try:
                return self._opinion(context, names[i], requests[i], None, prefix_cached.set)
            finally:
                prefix_cached.set()  # failed or retried out: the others go anyway

        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            return list(pool.map(opinion, range(len(names))))

    def opinions_batch(self, contexts: list[CycleContext]) -> list[list[Opinion]]:
        cfg = self.config
        calls = [
            (
                ctx.cycle_key,
                mind,
                mind_request(mind, ctx, cfg.mind_model, cfg.max_tokens, self.personas),
            )
            for ctx in contexts
            for mind in mind_names()
        ]
        replies = self.call_many(calls)
        per = len(mind_names())
        return [
            [
                self._validated_opinion(calls[i][1], ctx, calls[i][2], replies[i])
                for i in range(n * per, (n + 1) * per)
            ]
            for n, ctx in enumerate(contexts)
        ]

    def _opinion(
        self,
        context: CycleContext,
        mind: str,
        request: dict,
        cached: dict | None,
        on_reply_start: Callable[[], None] | None = None,
    ) -> Opinion:
        reply = self.call(mind, request, context.cycle_key, cached, on_reply_start)
        return self._validated_opinion(mind, context, request, reply)

    def _validated_opinion(
        self, mind: str, context: CycleContext, request: dict, reply: dict
    ) -> Opinion:
        cycle_key = context.cycle_key
        try:
            opinion = opinion_from_tool_input(mind, tool_input(reply))
        except InvalidReply as first:
            repair = with_repair(request, reply, str(first))
            try:
                opinion = opinion_from_tool_input(
                    mind, tool_input(self.call(mind, repair, cycle_key))
                )
            except InvalidReply as second:
                opinion = Opinion(
                    mind=mind,
                    stance="neutral",
                    narrative="(no valid opinion from the model)",
                    abstained=True,
                    abstain_reason=f"invalid reply after one repair: {second}",
                )
        opinion.model = self.config.mind_model
        self._attach_usage(opinion, mind, cycle_key)
        return opinion

    def _synthesis_request(self, context, opinions, debate) -> dict:
        cfg = self.config
        return synthesis_request(
            context, opinions, debate, cfg.synthesis_model, cfg.synthesis_max_tokens, self.personas
        )

    def synthesize(self, context: CycleContext, opinions: list[Opinion], debate: str) -> Memo:
        request = self._synthesis_request(context, opinions, debate)
        reply = self.call("synthesis", request, context.cycle_key)
        return self._validated_memo(context, opinions, debate, request, reply)

    def synthesize_batch(self, items: list[tuple[CycleContext, list[Opinion], str]]) -> list[Memo]:
        requests = [self._synthesis_request(*item) for item in items]
        replies = self.call_many(
            [
                (ctx.cycle_key, "synthesis", req)
                for (ctx, _, _), req in zip(items, requests, strict=True)
            ]
        )
        return [
            self._validated_memo(*item, req, reply)
            for item, req, reply in zip(items, requests, replies, strict=True)
        ]

    def _validated_memo(self, context, opinions, debate, request, reply) -> Memo:
        text = reply_text(reply)
        problem = memo_problem(text, context, opinions)
        if problem:
            repair = with_repair(request, reply, problem)
            text = reply_text(self.call("synthesis", repair, context.cycle_key))
            problem = memo_problem(text, context, opinions)
        memo = assemble_memo(context, opinions, debate, text, problem)
        memo.model = self.config.synthesis_model
        self._attach_usage(memo, "synthesis", context.cycle_key)
        return memo


# The 4xx the client retries (timeout, conflict, rate limit); every other 4xx fails at once.
RETRIED_4XX = (408, 409, 429)


def _error_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        return str((body.get("error") or {}).get("message") or body)[:300]
    return str(exc)[:300]
