"""The one error every market source raises when it cannot serve what a cycle needs."""

from __future__ import annotations


class MarketDataError(RuntimeError):
    """Market data could not be had; the message names what is missing or wrong.

    `transient` marks failures a retry may cure (the network); the rest (an unknown ticker, a
    missing file, a corrupt row, a source that ends before the cycle) fail at once.
    """

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient
