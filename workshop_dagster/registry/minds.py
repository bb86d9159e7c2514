"""The minds, in one registry: every other list of minds is derived from it.

A mind is a name (its `source` in every table), a title (how memos and the site name it), a
colour (its line on the site's charts), an offline function (context -> Opinion) and a prompt
file (its persona for Claude, in `minds/prompts/`). Adding a mind is one `Mind(...)` here, one
prompt file and one offline function; the debate, the synthesis, the prompts, the data-quality
suites, the charts and the evaluation follow. Order matters: it is the order minds are asked
and listed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROMPTS = Path(__file__).resolve().parents[1] / "minds" / "prompts"
SYNTHESIS = "synthesis"


@dataclass(frozen=True)
class Mind:
    name: str
    title: str
    colour: str
    # The offline mind: a function, or the name of one in minds/offline.py (this registry
    # imports nothing of the minds' code: the minds, predictions and publish all read it)
    offline: Callable[[dict], object] | str  # context -> minds.types.Opinion
    prompt: str | Path  # a file name in minds/prompts/, or a path

    @property
    def prompt_path(self) -> Path:
        path = Path(self.prompt)
        return path if path.is_absolute() else PROMPTS / path


_MINDS: dict[str, Mind] = {}


def register(mind: Mind) -> None:
    if mind.name == SYNTHESIS or mind.name in _MINDS:
        raise ValueError(f"a mind named {mind.name!r} is already registered")
    _MINDS[mind.name] = mind


def unregister(name: str) -> None:
    _MINDS.pop(name)


def minds() -> tuple[Mind, ...]:
    return tuple(_MINDS.values())


def mind_names() -> tuple[str, ...]:
    return tuple(_MINDS)


def sources() -> tuple[str, ...]:
    """Who makes calls: the synthesis, then each mind."""
    return (SYNTHESIS, *_MINDS)


def find(name: str) -> Mind | None:
    return _MINDS.get(name)


def title(source: str) -> str:
    return "Synthesis" if source == SYNTHESIS else _MINDS[source].title


def colour(source: str) -> str | None:
    return "#222222" if source == SYNTHESIS else getattr(_MINDS.get(source), "colour", None)


register(Mind("macro", "Macro", "#1f77b4", "macro_mind", "macro.md"))
register(Mind("flow", "Flow", "#2ca02c", "flow_mind", "flow.md"))
register(Mind("contrarian", "Contrarian", "#d62728", "contrarian_mind", "contrarian.md"))
