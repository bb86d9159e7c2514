"""Message Batches for a backfill: a wave of cycles' requests sent as one batch at half price.

A mixin of `ClaudeEngine`: it uses the engine's replay cache, budget, ledger and client.
"""

from __future__ import annotations

import time

from .llm_errors import LLMCallFailed
from .prompting import prompt_hash
from .spend import BATCH_DISCOUNT, cost_usd, usage_of


class BatchCalls:
    def call_many(self, calls: list[tuple[str, str, dict]]) -> list[dict]:
        """Replies for (cycle_key, source, request) triples: replayed where cached, the rest sent
        as one Message Batch at the batch price (a request the batch could not answer is sent
        again directly)."""
        replies: list[dict | None] = [None] * len(calls)
        todo = []
        replayed = self._replayed([(source, request) for _, source, request in calls])
        for i, ((cycle_key, source, request), cached) in enumerate(
            zip(calls, replayed, strict=True)
        ):
            key = prompt_hash(request)
            if cached is not None:
                self._record(
                    cycle_key,
                    source,
                    request["model"],
                    key,
                    cached["usage"],
                    0.0,
                    0,
                    "replayed",
                    0.0,
                )
                replies[i] = cached
            else:
                todo.append(i)
        if not todo:
            return replies
        estimates = [self._reserve(calls[i][2]) * BATCH_DISCOUNT for i in todo]
        self._write_unsaved()
        started = time.monotonic()
        batch = self.client.messages.batches.create(
            requests=[{"custom_id": f"r{i}", "params": calls[i][2]} for i in todo]
        )
        deadline = started + self.config.batch_timeout_s
        while batch.processing_status != "ended":
            if time.monotonic() > deadline:
                self.client.messages.batches.cancel(batch.id)
                raise LLMCallFailed(
                    f"batch {batch.id} did not finish within "
                    f"{self.config.batch_timeout_s:.0f}s (WORKSHOP_LLM_BATCH_TIMEOUT_S)"
                )
            self._sleep(self.config.batch_poll_s)
            batch = self.client.messages.batches.retrieve(batch.id)
        latency = time.monotonic() - started
        results = {r.custom_id: r.result for r in self.client.messages.batches.results(batch.id)}
        for i, estimate in zip(todo, estimates, strict=True):
            cycle_key, source, request = calls[i]
            result = results.get(f"r{i}")
            self._release(estimate / BATCH_DISCOUNT)
            if result is None or result.type != "succeeded":
                replies[i] = self.call(source, request, cycle_key)  # not answered: go direct
                continue
            message = result.message
            reply = {
                "content": [block.model_dump() for block in message.content],
                "usage": usage_of(message),
                "stop_reason": message.stop_reason,
            }
            cost = round(
                cost_usd(self.prices, request["model"], reply["usage"]) * BATCH_DISCOUNT, 6
            )
            with self._lock:
                self.spent_usd += cost
            key = prompt_hash(request)
            self._record(
                cycle_key,
                source,
                request["model"],
                key,
                reply["usage"],
                latency,
                0,
                "ok-batch",
                cost,
            )
            self._store(source, request["model"], key, reply)
            replies[i] = reply
        return replies
