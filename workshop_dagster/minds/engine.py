"""The minds engine interface: offline analysts today, Claude behind the same two methods."""

from __future__ import annotations

from typing import Protocol

from .offline import offline_opinions
from .synthesis import synthesize
from .types import Memo, Opinion


class MindsEngine(Protocol):
    name: str

    def opinions(self, context: dict) -> list[Opinion]: ...

    def synthesize(self, context: dict, opinions: list[Opinion], debate: str) -> Memo: ...


class OfflineEngine:
    """Deterministic minds written in Python: no network, no key, same output every run."""

    name = "offline"
    batches = False

    def opinions(self, context: dict) -> list[Opinion]:
        return offline_opinions(context)

    def synthesize(self, context: dict, opinions: list[Opinion], debate: str) -> Memo:
        return synthesize(context, opinions, debate)
