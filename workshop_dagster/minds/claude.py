"""The Claude minds: the model engine (minds/model_engine.py) over the `anthropic` client.

What is Claude's own: its client (one per process), Message Batches for backfills
(`claude_batches`), its streaming (the first mind's reply is streamed so the other two go when it
begins: the API caches a prefix once a request carrying it has begun its reply), and what its
errors mean. 408, 409, 429, 5xx, timeouts and lost connections are retried by the anthropic
client itself (`max_retries`, its exponential backoff, the API's `retry-after`); an
authentication error names the setting to fix, never the key.
"""

from __future__ import annotations

from collections.abc import Callable

from ..registry.minds import mind_names
from .claude_batches import BatchCalls
from .cycle_context import CycleContext
from .llm_errors import LLMConfigError, MalformedStream
from .model_engine import CONFIG, ModelEngine, client_fault, shared_client
from .prompting import mind_request
from .spend import usage_of
from .types import Memo, Opinion


def _sdk_client(timeout_s: float, max_retries: int):
    """The process's `anthropic.Anthropic` for the key and these settings (`shared_client`)."""
    import os

    import anthropic

    api_key = os.environ.get("ANTHROPIC_API_KEY")
    if not api_key:
        raise LLMConfigError("WORKSHOP_LLM=anthropic needs ANTHROPIC_API_KEY in the environment")
    settings = (os.environ.get("ANTHROPIC_BASE_URL"), timeout_s, max_retries)
    return shared_client(
        api_key, settings, lambda: anthropic.Anthropic(max_retries=max_retries, timeout=timeout_s)
    )


class ClaudeEngine(BatchCalls, ModelEngine):
    """Opinions and memos from Claude, with replay, ledger, budget and fault handling."""

    name = "anthropic"

    def _new_client(self):
        return _sdk_client(self.config.timeout_s, self.config.max_retries)

    def _send(self, request: dict, on_reply_start: Callable[[], None] | None) -> tuple:
        """(the reply, the retries the client took to get it, 'ok')."""
        if on_reply_start is None:
            raw = self.client.messages.with_raw_response.create(**request)
            message, retries = raw.parse(), raw.retries_taken
        else:
            message, retries = self._streamed(request, on_reply_start)
        reply = {
            "content": [block.model_dump() for block in message.content],
            "usage": usage_of(message),
            "stop_reason": message.stop_reason,
        }
        return reply, retries, "ok"

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

    def _fault(self, exc: Exception, request: dict) -> tuple[str, str] | None:
        import anthropic

        if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
            return CONFIG, (
                f"Anthropic refused the credentials ({exc.status_code}): check "
                "ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL if you set one)"
            )
        if isinstance(exc, anthropic.NotFoundError):
            return CONFIG, (
                f"model {request['model']!r} was not found ({exc.status_code}): check "
                "WORKSHOP_LLM_MODEL / WORKSHOP_LLM_SYNTHESIS_MODEL"
            )
        return client_fault(anthropic, exc)

    # -- Message Batches for backfills ---------------------------------------------------------
    @property
    def batches(self) -> bool:
        return self.config.batch

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
