"""Parse the prediction tag a memo ends with into a call, or into an explicit parse error.

The seeds' form is `[DIRECTION: down (IWM relative to META)] [TIMEFRAME: 48h] [CONFIDENCE: 0.45]`.
Models write many variants: other spacing and case, "48 hours", "1w", "by end of April 1",
"45%", "QQQ vs IWM", "down 0.8-1.8%". Each is understood here; anything else becomes a row with
`parse_status = "error"` and the reason, never a silent default. `parse_tag` never raises.

(Over 350 lines: one grammar, the tag's fields and each field's variants, read together.)
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pandas as pd

from . import horizon

FIELD_RE = re.compile(
    r"\[\s*(?P<key>direction|timeframe|time\s*frame|horizon|confidence|subject|ticker|target"
    r"|magnitude)\s*[:=]\s*(?P<value>[^\]\[]*)\]",
    re.I,
)
UP_WORDS = (
    "up",
    "higher",
    "long",
    "bullish",
    "rise",
    "rises",
    "rally",
    "outperform",
    "outperforms",
    "gain",
    "gains",
    "above",
)
DOWN_WORDS = (
    "down",
    "lower",
    "short",
    "bearish",
    "fall",
    "falls",
    "decline",
    "declines",
    "underperform",
    "underperforms",
    "drop",
    "drops",
    "below",
)
FLAT_WORDS = ("flat", "sideways", "neutral", "unchanged", "range", "rangebound", "range-bound")
ABSTAIN_WORDS = (
    "abstain",
    "abstention",
    "no call",
    "none",
    "pass",
    "n/a",
    "no prediction",
    "no direction",
    "no trade",
)
NOT_TICKERS = {
    "VS",
    "TO",
    "OF",
    "THE",
    "BY",
    "END",
    "EOD",
    "IN",
    "ON",
    "AND",
    "OR",
    "H",
    "D",
    "W",
    "M",
    "UP",
    "DOWN",
    "FLAT",
    "LONG",
    "SHORT",
    "AGAINST",
    "OVER",
    "RELATIVE",
    "PCT",
    "BPS",
    "ET",
    "EST",
    "EDT",
    "NY",
    "A",
    "I",
    "AT",
    "FOR",
    "CLOSE",
    "OPEN",
    "ETF",
    "US",
    "USD",
}
TICKER_RE = re.compile(r"(?<![A-Za-z0-9^])(\^?[A-Z][A-Z0-9]{0,4})(?![A-Za-z0-9])")
PAIR_RE = re.compile(
    r"(?P<a>\^?[A-Z][A-Z0-9]{0,4})\s*(?:relative\s+to|vs\.?|versus|/|over|against|"
    r"(?P<verb>outperforms?|underperforms?)|minus|-)\s*(?P<b>\^?[A-Z][A-Z0-9]{0,4})(?![A-Za-z0-9])",
    re.I,
)
BAND_RE = re.compile(
    r"(?P<s1>[+\-−])?\s*(?P<lo>\d+(?:\.\d+)?)\s*%?\s*(?:-|–|—|to)\s*(?P<s2>[+\-−])?\s*"
    r"(?P<hi>\d+(?:\.\d+)?)\s*%"
)
SINGLE_PCT_RE = re.compile(r"(?P<sign>[+\-−])?\s*(?P<v>\d+(?:\.\d+)?)\s*%")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


@dataclass
class ParsedCall:
    parse_status: str  # parsed | abstained | error
    parse_error: str | None = None
    subject: str | None = None
    ticker: str | None = None
    relative_to: str | None = None
    direction: str | None = None
    timeframe: str | None = None
    timeframe_hours: float | None = None
    horizon_sessions: int | None = None
    horizon_end: pd.Timestamp | None = None
    confidence: float | None = None
    band_low_pct: float | None = None
    band_high_pct: float | None = None
    raw_tag: str | None = None

    def as_row(self) -> dict:
        return asdict(self)


class TagError(ValueError):
    pass


def find_tag(text: str) -> tuple[dict[str, str], str] | None:
    """The last run of bracketed tag fields that includes DIRECTION, as {key: value} and raw."""
    matches = list(FIELD_RE.finditer(text or ""))
    if not matches:
        return None
    groups: list[list[re.Match]] = []
    for m in matches:
        if groups and m.start() - groups[-1][-1].end() <= 3:
            groups[-1].append(m)
        else:
            groups.append([m])
    with_direction = [g for g in groups if any(_key(m) == "direction" for m in g)]
    group = (with_direction or groups)[-1]
    fields = {_key(m): m.group("value").strip() for m in group}
    raw = text[group[0].start() : group[-1].end()]
    return fields, raw


def _key(m: re.Match) -> str:
    key = re.sub(r"\s+", "", m.group("key").lower())
    return {"horizon": "timeframe", "ticker": "subject", "magnitude": "target"}.get(key, key)


def _tickers(text: str) -> list[str]:
    return [t.upper() for t in TICKER_RE.findall(text) if t.upper() not in NOT_TICKERS]


def _word_in(words: tuple[str, ...], text: str) -> str | None:
    for w in words:
        if re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", text):
            return w
    return None


def parse_direction(value: str, subject_field: str | None) -> dict:
    text = value.replace("−", "-")
    lower = text.lower()
    verb_dir = None
    pair = PAIR_RE.search(text)
    a = b = None
    if (
        pair
        and pair.group("a").upper() not in NOT_TICKERS
        and pair.group("b").upper() not in NOT_TICKERS
    ):
        a, b = pair.group("a").upper(), pair.group("b").upper()
        verb = (pair.group("verb") or "").lower()
        verb_dir = "up" if verb.startswith("out") else "down" if verb.startswith("under") else None
    direction = verb_dir
    if direction is None:
        found = [
            (lower.find(w), d)
            for d, words in (("up", UP_WORDS), ("down", DOWN_WORDS), ("flat", FLAT_WORDS))
            for w in words
            if _word_in((w,), lower)
        ]
        if found:
            direction = min(found)[1]
    if a is None:
        tickers = _tickers(text) or _tickers(subject_field or "")
        if len(tickers) >= 2 and re.search(
            r"relative|vs|versus|against|/", lower + (subject_field or "").lower()
        ):
            a, b = tickers[0], tickers[1]
        elif tickers:
            a = tickers[0]
    if a is None and subject_field:
        pair2 = PAIR_RE.search(subject_field)
        if pair2:
            a, b = pair2.group("a").upper(), pair2.group("b").upper()
    if direction is None:
        raise TagError(f"no direction (up/down/flat) in {value!r}")
    if a is None:
        raise TagError(f"no subject ticker in {value!r}")
    band = _band(text, direction)
    return {"direction": direction, "ticker": a, "relative_to": b, **band}


def _band(text: str, direction: str) -> dict:
    m = BAND_RE.search(text)
    sign = -1.0 if direction == "down" else 1.0
    if m:
        lo, hi = float(m.group("lo")), float(m.group("hi"))
        if m.group("s1") in ("-", "−") or m.group("s2") in ("-", "−"):
            sign = -1.0
        vals = sorted([sign * lo, sign * hi])
        return {"band_low_pct": vals[0], "band_high_pct": vals[1]}
    m = SINGLE_PCT_RE.search(text)
    if m:
        v = float(m.group("v"))
        if m.group("sign") in ("-", "−"):
            sign = -1.0
        return (
            {"band_low_pct": sign * v, "band_high_pct": sign * v}
            if direction != "flat"
            else {"band_low_pct": -v, "band_high_pct": v}
        )
    return {"band_low_pct": None, "band_high_pct": None}


TO_CLOSE = r"(today|eod|end\s+of\s+day|intraday|by\s+the\s+close)"
RELATIVE = r"(tomorrow|next\s+session|1\s+session|overnight)"


def _to_close(value: str) -> bool:
    return re.fullmatch(TO_CLOSE, value.strip().lower().replace("~", "")) is not None


def _is_duration(value: str) -> bool:
    """A timeframe that is a length of time ("48h", "1w", "tomorrow", "EOD"), not a date."""
    text = value.strip().lower().replace("~", "")
    return bool(
        re.fullmatch(TO_CLOSE, text)
        or re.fullmatch(RELATIVE, text)
        or re.match(r"^\D*\d", text)
        and not _looks_like_date(text)
    )


def _looks_like_date(text: str) -> bool:
    return bool(
        re.search(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\d{4}-\d{2}", text)
    )


def parse_timeframe(value: str, cycle_ts: pd.Timestamp | None) -> tuple[float, int]:
    """(hours, sessions) for a stated timeframe."""
    text = value.strip().lower().replace("~", "")
    m = re.fullmatch(
        r"(?:next\s+|within\s+|over\s+(?:the\s+)?(?:next\s+)?)?(\d+(?:\.\d+)?)\s*"
        r"(h|hr|hrs|hour|hours|d|day|days|trading\s+days?|sessions?|w|wk|wks|week|weeks|"
        r"mo|mos|month|months|m|min|mins|minutes)\.?",
        text,
    )
    if m:
        n, unit = float(m.group(1)), m.group(2)
        if unit.startswith(("trading", "session")):
            sessions = max(1, round(n))
            return sessions * 24.0, sessions
        if unit in ("min", "mins", "minutes"):
            hours = n / 60.0
        elif unit.startswith("h"):
            hours = n
        elif unit.startswith("d"):
            hours = n * 24
        elif unit.startswith("w"):
            hours = n * 24 * 7
        else:  # m, mo, month(s): a model writing "1m" means a month
            hours = n * 24 * 30
        if hours <= 0:
            raise TagError(f"timeframe must be positive: {value!r}")
        return hours, horizon.sessions_for_hours(hours)
    if re.fullmatch(RELATIVE, text):
        return 24.0, 1
    if re.fullmatch(TO_CLOSE, text):
        return 6.0, 1
    if cycle_ts is None:
        raise TagError(f"timeframe {value!r} needs the cycle time to resolve")
    target = _date_in(text, cycle_ts)
    if target is None:
        raise TagError(f"timeframe {value!r} does not resolve to a horizon")
    if target <= cycle_ts.normalize() - pd.Timedelta(days=1):
        raise TagError(f"timeframe {value!r} ends before the cycle")
    sessions = horizon.sessions_until(cycle_ts, target)
    end = horizon.horizon_end(cycle_ts, sessions)
    return round((end - cycle_ts).total_seconds() / 3600.0, 2), sessions


def _date_in(text: str, cycle_ts: pd.Timestamp) -> pd.Timestamp | None:
    text = re.sub(r"^(by\s+)?(the\s+)?(end\s+of\s+|close\s+(on|of)\s+|eod\s+)?", "", text).strip()
    if text in ("week", "the week", "this week"):
        friday = cycle_ts.normalize() + pd.Timedelta(days=(4 - cycle_ts.weekday()) % 7)
        return friday
    if text in ("next week",):
        return cycle_ts.normalize() + pd.Timedelta(days=(4 - cycle_ts.weekday()) % 7 + 7)
    if text in ("month", "the month", "this month"):
        return (cycle_ts + pd.offsets.MonthEnd(0)).normalize()
    for i, day in enumerate(WEEKDAYS):
        if text in (day, f"next {day}"):
            ahead = (i - cycle_ts.weekday()) % 7 or 7
            return cycle_ts.normalize() + pd.Timedelta(days=ahead)
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})", text)
    if m:
        return pd.Timestamp(m.group(1))
    m = re.fullmatch(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?", text)
    if m:
        names = [mo for mo in MONTHS if mo.startswith(m.group(1)[:3])]
        if names and len(m.group(1)) >= 3:
            month = MONTHS.index(names[0]) + 1
            year = int(m.group(3)) if m.group(3) else cycle_ts.year
            date = pd.Timestamp(year=year, month=month, day=int(m.group(2)))
            if not m.group(3) and date < cycle_ts.normalize() - pd.Timedelta(days=180):
                date = date.replace(year=year + 1)
            return date
    return None


def parse_confidence(value: str) -> float:
    m = re.search(r"(\d*\.?\d+)\s*(%)?", value)
    if not m:
        raise TagError(f"no number in confidence {value!r}")
    v = float(m.group(1))
    if m.group(2):
        v = v / 100.0
    elif v > 1:
        if not v.is_integer():
            raise TagError(f"confidence {value!r} is neither a probability nor a percentage")
        v = v / 100.0
    if not 0.0 <= v <= 1.0:
        raise TagError(f"confidence {value!r} is outside [0, 1]")
    return round(v, 4)


def parse_tag(text: str, cycle_ts: pd.Timestamp | None = None) -> ParsedCall:
    """The call in `text` (a memo or a bare tag). Never raises: errors become parse errors."""
    try:
        found = find_tag(text or "")
        if found is None:
            return ParsedCall("error", "no [DIRECTION: …] [TIMEFRAME: …] [CONFIDENCE: …] tag found")
        fields, raw = found
        return _parse_fields(fields, raw, cycle_ts)
    except TagError as exc:
        return ParsedCall("error", str(exc), raw_tag=(found[1] if found else None))
    except Exception as exc:  # a parser bug must not pass as a call either
        return ParsedCall("error", f"unparseable tag ({type(exc).__name__}: {exc})")


def _parse_fields(fields: dict[str, str], raw: str, cycle_ts) -> ParsedCall:
    direction_text = fields.get("direction")
    if direction_text is None:
        raise TagError("tag has no DIRECTION field")
    cycle_ts = pd.Timestamp(cycle_ts) if cycle_ts is not None else None
    if _word_in(ABSTAIN_WORDS, direction_text.lower()):
        return ParsedCall("abstained", raw_tag=raw, direction=None)
    call = parse_direction(direction_text, fields.get("subject"))
    if call["band_low_pct"] is None and fields.get("target"):
        call.update(_band(fields["target"], call["direction"]))
    if "timeframe" not in fields or not fields["timeframe"]:
        raise TagError("tag has no TIMEFRAME")
    hours, sessions = parse_timeframe(fields["timeframe"], cycle_ts)
    if "confidence" not in fields:
        raise TagError("tag has no CONFIDENCE")
    confidence = parse_confidence(fields["confidence"])
    subject = (
        call["ticker"] if not call["relative_to"] else f"{call['ticker']} vs {call['relative_to']}"
    )
    end = (
        horizon.horizon_end_for(cycle_ts, hours, sessions, to_close=_to_close(fields["timeframe"]))
        if cycle_ts is not None and _is_duration(fields["timeframe"])
        else horizon.horizon_end(cycle_ts, sessions)
        if cycle_ts is not None
        else None
    )
    return ParsedCall(
        "parsed",
        subject=subject,
        ticker=call["ticker"],
        relative_to=call["relative_to"],
        direction=call["direction"],
        timeframe=fields["timeframe"].strip(),
        timeframe_hours=hours,
        horizon_sessions=sessions,
        horizon_end=end,
        confidence=confidence,
        band_low_pct=call["band_low_pct"],
        band_high_pct=call["band_high_pct"],
        raw_tag=raw,
    )


def format_tag(
    direction: str,
    ticker: str,
    relative_to: str | None,
    timeframe: str,
    confidence: float,
    band: tuple[float, float] | None = None,
) -> str:
    """The seeds' tag line for a call (the inverse of `parse_tag`)."""
    subject = f"{ticker} relative to {relative_to}" if relative_to else ticker
    magnitude = ""
    if band is not None:
        lo, hi = sorted(abs(x) for x in band)
        magnitude = f" {lo:.1f}-{hi:.1f}%"
    return (
        f"[DIRECTION: {direction}{magnitude} ({subject})] [TIMEFRAME: {timeframe}] "
        f"[CONFIDENCE: {confidence:.2f}]"
    )
