"""What every engine that asks a language model does, whatever its wire (Claude's Messages API,
or any server that speaks OpenAI's chat completions): the engine interface over `call`.

- The three minds run concurrently (a thread each); the synthesis follows. The first mind's
  reply is streamed and the other two are sent when it begins: a server serves a prompt prefix
  from its cache only once a request carrying it has begun its reply, so the two then read the
  cycle's data from the cache instead of each writing it again, for one reply-start of wall time.
- Every request goes through a replay cache keyed by (mind, model, prompt hash): a re-run whose
  prompts did not change makes no request. `refresh=True` forces fresh calls.
- Every call is written to the ledger: tokens (cache reads and writes included), cost from the
  configured price table, latency, retries, outcome; the run's dollar budget stops it before
  the call that would cross it (`CallBooks`).
- Faults: the client retries what can be retried (rate limits, 5xx, timeouts, lost
  connections) with its own backoff; a reply that arrives but cannot be read is sent once more
  by us; a reply that fails validation is asked once to repair itself, then the mind abstains
  with the reason; a setting that is wrong (credentials, model) fails at once naming it.

A subclass says how one request goes out (`_send`) and what a client error means (`_fault`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..config.settings import LLMSettings
from ..registry.minds import mind_names
from ..registry.model_prices import price_table
from .call_books import CallBooks
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
from .spend import cost_usd
from .types import Memo, Opinion

NOT_LOOKED_UP = object()
_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
# How `_fault` classes an exception: a setting to fix, a reply that could not be read (sent once
# more), a request the server refused (not retried), or a fault the client already retried.
CONFIG, UNREADABLE, REJECTED, RETRIED = "config", "unreadable", "rejected", "retried"


class ModelEngine(CallBooks):
    """Opinions and memos from a language model, with replay, ledger, budget and fault handling."""

    name = "model"
    batches = False

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
        self.prices = self._prices(price_table(config.prices_json))
        self._client = client
        self._sleep = sleep  # paces the batch polls
        self._lock = threading.Lock()
        self._open_books(replay, spend, preload=not config.refresh)

    def _prices(self, table: dict[str, list[float]]) -> dict[str, list[float]]:
        return table

    @property
    def writer(self) -> str:
        """The engine, models and prompts the cycle's memo and opinions come from."""
        from .prompting import prompts_digest

        cfg = self.config
        return (
            f"{self.name}: minds {cfg.mind_model}, synthesis {cfg.synthesis_model}, prompts "
            f"{prompts_digest(self.personas)}"
        )

    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._new_client()
        return self._client

    # -- what a subclass provides --------------------------------------------------------------
    def _new_client(self):
        raise NotImplementedError

    def _send(self, request: dict, on_reply_start: Callable[[], None] | None) -> tuple:
        """(the reply as {'content', 'usage' (None: not reported), 'stop_reason'}, the retries
        the client took, the ledger outcome)."""
        raise NotImplementedError

    def _fault(self, exc: Exception, request: dict) -> tuple[str, str] | None:
        """(CONFIG | UNREADABLE | REJECTED | RETRIED, message) for an exception of the client,
        None for one that is not (raised as it is)."""
        raise NotImplementedError

    # -- one request ---------------------------------------------------------------------------
    def call(
        self,
        source: str,
        request: dict,
        cycle_key: str | None = None,
        cached: dict | None | object = NOT_LOOKED_UP,
        on_reply_start: Callable[[], None] | None = None,
    ) -> dict:
        """One request: from the replay cache (`cached`: what the caller found there, None for
        nothing), or from the server with retries. With `on_reply_start` the caller learns
        when the reply begins. Returns the reply as {'content': [...], 'usage': {...}}."""
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
                reply, retries, outcome = self._send(request, on_reply_start)
                retries += resent
                break
            except Exception as exc:  # noqa: BLE001 - classed by the engine's `_fault`
                fault = self._fault(exc, request)
                if fault is None:
                    self._release(estimate)
                    raise
                kind, message = fault
                if kind == CONFIG:
                    self._release(estimate)
                    raise LLMConfigError(message) from None
                if kind == UNREADABLE and not resent:
                    resent = 1  # a reply arrived but cannot be read: sent once more
                    continue
                if kind == UNREADABLE:
                    raise failed(
                        exc,
                        resent,
                        f"{source} of cycle {cycle_key}: the API's reply could not be read twice "
                        f"({type(exc).__name__}: {message})",
                    ) from None
                if kind == REJECTED:
                    raise failed(
                        exc,
                        resent,
                        f"the API rejected the request for {source} of cycle {cycle_key}: "
                        f"{message}",
                    ) from None
                # The client retried it `max_retries` times already, with its backoff.
                retries = self.config.max_retries + resent
                raise failed(
                    exc,
                    retries,
                    f"{source} of cycle {cycle_key}: the API still failed after {retries} "
                    f"retries ({type(exc).__name__}: {message})",
                ) from None
        latency = time.monotonic() - started
        if reply["usage"] is None:
            # The server reported no usage: the call is counted at its reservation.
            reply = {**reply, "usage": self._estimated_usage(request)}
            outcome += "-estimated"
        cost = cost_usd(self.prices, model, reply["usage"])
        with self._lock:
            self.spent_usd += cost - estimate
        self._record(cycle_key, source, model, key, reply["usage"], latency, retries, outcome, cost)
        self._store(source, model, key, reply)
        return reply

    # -- the engine interface ------------------------------------------------------------------
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
        return [self.opinions(c) for c in contexts]

    def synthesize_batch(self, items: list[tuple[CycleContext, list[Opinion], str]]) -> list[Memo]:
        return [self.synthesize(*item) for item in items]

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


# The 4xx the clients retry (timeout, conflict, rate limit); every other 4xx fails at once.
RETRIED_4XX = (408, 409, 429)


def status_fault(status: int | None) -> str:
    """REJECTED for a 4xx no client retries, RETRIED for the rest (5xx, 408/409/429, none)."""
    if status is not None and status < 500 and status not in RETRIED_4XX:
        return REJECTED
    return RETRIED


def error_message(exc) -> str:
    """What the server said, from its error body when it sent one (at most 300 characters)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        return str(message or body)[:300]
    return str(exc)[:300]


def shared_client(api_key: str, settings: tuple, build: Callable[[], object]):
    """One SDK client per process, key and settings, shared by every engine (each step builds
    one): building one loads the TLS trust store (holding the GIL; docs/performance.md), and a
    shared client keeps its connections alive from one step to the next. Keyed by the key's
    hash, never the key."""
    key = (hashlib.sha256(api_key.encode()).hexdigest(), *settings)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = build()
        return _clients[key]


def client_fault(sdk, exc: Exception) -> tuple[str, str] | None:
    """What an error of a Stainless-made client (`anthropic`, `openai`: the same classes) means
    when no setting is at fault: a reply that cannot be read (sent once more), a status the
    client does or does not retry, a connection it retried; None for anything else."""
    if isinstance(exc, sdk.APIResponseValidationError | json.JSONDecodeError | MalformedStream):
        return UNREADABLE, error_message(exc)
    if isinstance(exc, sdk.APIStatusError):
        return status_fault(exc.status_code), error_message(exc)
    if isinstance(exc, sdk.APIConnectionError):
        return status_fault(None), error_message(exc)
    return None
