"""What can go wrong with the model API, as the loop and the deliberation step see it."""

from __future__ import annotations


class LLMConfigError(RuntimeError):
    """A setting is wrong (the message names it); retrying cannot help."""


class BudgetExceeded(RuntimeError):
    """The next call would cross the run's dollar budget."""


class LLMCallFailed(RuntimeError):
    """The API kept failing after every retry."""


class MalformedStream(RuntimeError):
    """A streamed reply the SDK could not assemble (events missing or out of order): retried
    like any malformed reply."""
