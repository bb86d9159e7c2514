"""What a mind says: a stance, a narrative and a call, or an explicit abstention."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

DEFENSIVE = {"TLT", "GLD", "VIX"}
# The fields of an Opinion that make its call (empty when it abstains).
CALL_FIELDS = (
    "ticker",
    "relative_to",
    "direction",
    "timeframe",
    "confidence",
    "band_low_pct",
    "band_high_pct",
)


@dataclass
class Opinion:
    mind: str
    stance: str  # bullish | bearish | neutral
    narrative: str
    thesis: str = ""  # the one-sentence reason, quoted under **Prediction:**
    ticker: str | None = None
    relative_to: str | None = None
    direction: str | None = None  # up | down | flat
    timeframe: str | None = None  # as a mind would write it: "48h", "1w"
    confidence: float | None = None
    band_low_pct: float | None = None
    band_high_pct: float | None = None
    abstained: bool = False
    abstain_reason: str | None = None
    model: str = "offline"
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    # The cycle whose synthesis already published this call on the same closes (minds/repeats.py).
    synthesis_repeat: str | None = None
    # The cycle of this mind's standing call that this call says again: a restatement, never
    # counted (predictions/standing_calls.py).
    restates: str | None = None

    @property
    def subject(self) -> str | None:
        if self.ticker is None:
            return None
        return f"{self.ticker} vs {self.relative_to}" if self.relative_to else self.ticker

    def as_row(self) -> dict:
        return asdict(self) | {"subject": self.subject}

    def as_abstention(self, reason: str) -> Opinion:
        """The same opinion (narrative, model and cost kept) without its call."""
        return replace(
            self,
            stance="neutral",
            abstained=True,
            abstain_reason=reason,
            **dict.fromkeys(CALL_FIELDS),
        )


def lean(ticker: str | None, direction: str | None) -> str:
    """Which way a call leans on risk: up on a risk asset is bullish, up on a haven bearish."""
    if ticker is None or direction in (None, "flat"):
        return "neutral"
    bullish = direction == "up"
    if ticker in DEFENSIVE:
        bullish = not bullish
    return "bullish" if bullish else "bearish"


@dataclass
class Memo:
    title: str
    body: str  # the whole memo in the seeds' Markdown layout
    tag_line: str
    abstained: bool
    chosen_source: str | None
    published_confidence: float | None
    model: str = "offline"
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
