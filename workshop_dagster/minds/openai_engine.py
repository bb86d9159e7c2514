"""The minds on any server that speaks OpenAI's chat completions (Ollama, vLLM, llama.cpp,
OpenRouter, OpenAI), through the official `openai` client: its `base_url`, its retries with
backoff (`max_retries`), its streaming and its stream accumulator.

The same prompts, checks, replay cache, ledger and budget as the Claude minds (`ModelEngine`);
`chat_wire` translates the requests and the replies. Every reply is streamed (a local model may
take minutes to write a memo; a stream keeps the connection busy, and the first chunk says the
reply has begun). A server that refuses function calling is asked again without it, and from
then on for the rest of the step; a model that answers in prose is read from its tag, and the
ledger says so (`ok-text`). The key (OPENAI_API_KEY, where the server wants one) is read from
the environment when the client is built and is never logged or stored.
"""

from __future__ import annotations

from collections.abc import Callable

from ..registry.server_urls import DEFAULT_BASE_URL, is_local, public_url, server_host
from .chat_wire import chat_params, refuses_tools, reply_from_completion
from .llm_errors import MalformedStream
from .model_engine import (
    CONFIG,
    ModelEngine,
    client_fault,
    error_message,
    shared_client,
    status_fault,
)
from .replies import answered_in_prose


def _sdk_client(base_url: str, timeout_s: float, max_retries: int):
    """The process's `openai.OpenAI` for the key and these settings (`shared_client`)."""
    import os

    import openai

    # Ollama, vLLM and llama.cpp take any key; the client insists on one.
    api_key = os.environ.get("OPENAI_API_KEY", "").strip() or "no-key"
    return shared_client(
        api_key,
        (base_url, timeout_s, max_retries),
        lambda: openai.OpenAI(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout_s
        ),
    )


class ChatEngine(ModelEngine):
    """Opinions and memos from a chat-completions server."""

    name = "openai"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tools_refused = False

    @property
    def base_url(self) -> str:
        return self.config.base_url or DEFAULT_BASE_URL

    def _prices(self, table: dict[str, list[float]]) -> dict[str, list[float]]:
        """The price table, where a local server's models not in it cost nothing (their tokens
        are still counted); a remote server's model must be priced (config/settings.py checks it)."""
        if not is_local(self.base_url):
            return table
        free = [0.0, 0.0, 0.0, 0.0]
        models = (self.config.mind_model, self.config.synthesis_model)
        return {**{m: free for m in models}, **table}

    @property
    def writer(self) -> str:
        from .prompting import prompts_digest

        cfg = self.config
        return (
            f"openai at {server_host(self.base_url)}: minds {cfg.mind_model}, synthesis "
            f"{cfg.synthesis_model}, prompts {prompts_digest(self.personas)}"
        )

    def _new_client(self):
        return _sdk_client(self.base_url, self.config.timeout_s, self.config.max_retries)

    def _send(self, request: dict, on_reply_start: Callable[[], None] | None) -> tuple:
        import openai

        params = chat_params(request, tools=not self._tools_refused)
        try:
            completion, retries = self._streamed(params, on_reply_start)
        except openai.BadRequestError as exc:
            if "tools" not in params or not refuses_tools(error_message(exc)):
                raise
            self._tools_refused = True  # the rest of the step asks for prose at once
            params = chat_params(request, tools=False)
            completion, retries = self._streamed(params, on_reply_start)
        try:
            reply = reply_from_completion(completion)
        except ValueError as exc:
            raise MalformedStream(str(exc)) from exc
        # A mind's opinion (the request forces the tool): sent without tools, or read from prose.
        outcome = "ok"
        if "tool_choice" in request and "tools" not in params:
            outcome = "ok-untooled"
        elif "tool_choice" in request and answered_in_prose(reply):
            outcome = "ok-text"
        return reply, retries, outcome

    def _streamed(self, params: dict, on_reply_start: Callable[[], None] | None) -> tuple:
        """(the completion assembled from the stream by the client's own accumulator, as a
        dict; the retries the client took). A stream it cannot assemble is a malformed reply."""
        from openai.lib.streaming.chat import ChatCompletionStreamState

        raw = self.client.chat.completions.with_raw_response.create(**params)
        retries = int(getattr(raw, "retries_taken", 0) or 0)
        try:
            state = ChatCompletionStreamState()
            began = False
            for chunk in raw.parse():
                if not began and on_reply_start is not None:
                    on_reply_start()
                began = True
                state.handle_chunk(chunk)
            if not began:
                raise MalformedStream("the stream ended before its first chunk")
            return state.get_final_completion().model_dump(), retries
        except MalformedStream:
            raise
        except Exception as exc:  # noqa: BLE001 - the reply had begun: lost or unreadable
            # A connection lost mid-reply, an error event in the stream, a chunk that is not
            # JSON, chunks the accumulator cannot assemble: the client does not retry what it
            # already received, so the reply counts as malformed and is sent once more.
            raise MalformedStream(f"{type(exc).__name__}: {error_message(exc)}") from exc

    def _fault(self, exc: Exception, request: dict) -> tuple[str, str] | None:
        import openai

        host = server_host(self.base_url)
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return CONFIG, (
                f"the server at {host} refused the credentials ({exc.status_code}): check "
                "OPENAI_API_KEY (and WORKSHOP_LLM_BASE_URL)"
            )
        if isinstance(exc, openai.NotFoundError):
            return CONFIG, (
                f"the server at {host} has no model {request['model']!r} or no chat "
                f"completions at {public_url(self.base_url)} (404: {error_message(exc)}): check "
                "WORKSHOP_LLM_MODEL / WORKSHOP_LLM_SYNTHESIS_MODEL (on Ollama: `ollama pull "
                "MODEL`) and WORKSHOP_LLM_BASE_URL (it ends in /v1)"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            why = f"{type(cause).__name__}: {cause}" if cause else error_message(exc)
            return status_fault(None), (
                f"{error_message(exc)} {why}; is a server running at {public_url(self.base_url)} "
                "(WORKSHOP_LLM_BASE_URL)?"
            )
        return client_fault(openai, exc)
