"""A cycle with nothing new since the previous one: no bar and no headline has landed since.

The minds are not consulted (offline or Claude: no call, no cost) and no call is made, so no
call is ever made twice on the same information; the cycle still gets a short memo that says
so, in the seeds' layout, ending in an abstention.
"""

from __future__ import annotations

import pandas as pd

from ..registry.minds import mind_names
from .cycle_context import CycleContext
from .synthesis import abstention_memo
from .types import Memo, Opinion

REASON = "nothing new since the previous cycle"


def latest_news(context: CycleContext) -> pd.Timestamp | None:
    """When the cycle's newest headline became visible (its archive time: a story published
    long ago but first fetched since the previous cycle is new to the loop)."""
    times = [
        pd.Timestamp(n.get("visible_from") or n["published_at"])
        for n in context.news
        if n.get("visible_from") or n.get("published_at")
    ]
    return max(times) if times else None


def is_new(features: list[dict], context: CycleContext, previous: pd.Timestamp | None) -> bool:
    """Whether anything became known after the previous cycle: a quote (a bar's end or a daily
    close) or a headline. The first cycle, or one without a previous, is always new.
    `features`: the cycle's rows as records."""
    if previous is None or pd.isna(previous):
        return True
    column = "quote_ts" if features and "quote_ts" in features[0] else "last_bar_ts"
    times = [pd.Timestamp(r[column]) for r in features if not pd.isna(r.get(column))]
    latest = max(times) if times else None
    news = latest_news(context)
    return bool(
        (latest is not None and latest > previous) or (news is not None and news > previous)
    )


def quiet_opinions(previous: pd.Timestamp) -> list[Opinion]:
    return [
        Opinion(
            mind=mind,
            stance="neutral",
            narrative=f"Nothing has landed since {previous:%H:%M}: no bar, no headline.",
            abstained=True,
            abstain_reason=REASON,
        )
        for mind in mind_names()
    ]


def quiet_memo(
    context: CycleContext, opinions: list[Opinion], debate: str, previous: pd.Timestamp
) -> Memo:
    cycle_ts = pd.Timestamp(context.cycle_ts)
    when = (
        f"{previous:%H:%M}"
        if previous.normalize() == cycle_ts.normalize()
        else (f"{previous:%A %H:%M}")
    )
    body = [
        f"Nothing new since {when}: no quote has moved and no headline has landed since the "
        "last cycle. I did not ask the minds again; the same information would only repeat the "
        "same call, and a call counted twice flatters or damns the record for nothing."
    ]
    return abstention_memo(context, opinions, debate, "Nothing New Since the Last Cycle", body)
