"""What a warehouse's memos say about themselves: the claim check over every memo and opinion,
numbers without units, titles (issue: memos that argue). Shared by the tests."""

from __future__ import annotations

import json
from collections import defaultdict

from workshop_dagster.predictions.claim_check import bare_numbers, claim_problems


def memo_quality(db: str) -> dict:
    from workshop_dagster.store import warehouse

    with warehouse.read_only(db) as conn:
        memos = conn.execute(
            "select m.cycle_key, m.title, m.body, m.abstained, x.context_json, d.label "
            "from memo m join mind_context x using (cycle_key) join debate d using (cycle_key) "
            "order by m.cycle_key"
        ).fetchall()
        opinions = conn.execute(
            "select cycle_key, narrative, confidence, abstained from mind_opinions"
        ).fetchall()
    by_cycle = defaultdict(list)
    for key, narrative, confidence, abstained in opinions:
        by_cycle[key].append((narrative, confidence, abstained))
    contradicted, bare, under_a_coin = [], [], []
    for key, _title, body, _abstained, context_json, label in memos:
        doc = json.loads(context_json)
        contradicted += [(key, p) for p in claim_problems(body, doc, label)]
        bare += [(key, n) for n in bare_numbers(body)]
        for narrative, confidence, abstained in by_cycle[key]:
            contradicted += [(key, p) for p in claim_problems(narrative, doc)]
            bare += [(key, n) for n in bare_numbers(narrative)]
            if not abstained and confidence is not None and confidence < 0.5:
                under_a_coin.append((key, confidence))
    titles = [title for _, title, *_ in memos]
    call_titles = [title for _, title, _, abstained, *_ in memos if not abstained]
    repeated = sum(
        1
        for a, b in zip(memos, memos[1:], strict=False)
        if a[1] == b[1] and not a[1].startswith("Nothing New") and a[2] != b[2]
    )
    return {
        "memos": len(memos),
        "contradicted": contradicted,
        "bare_numbers": bare,
        "under_a_coin": under_a_coin,
        "distinct_call_titles": len(set(call_titles)) / max(1, len(call_titles)),
        "distinct_titles": len(set(titles)) / max(1, len(titles)),
        "consecutive_same_title": repeated,
        "words": sorted(len(body.split()) for _, _, body, *_ in memos),
    }


def assert_memos_argue(db: str) -> dict:
    """No memo or opinion contradicts its figures, quotes a decimal without its unit or makes
    a call under a coin; most calls have their own title; a title repeats on consecutive
    memos that say different things only where a rounded figure happens to repeat."""
    q = memo_quality(db)
    assert q["contradicted"] == [], q["contradicted"][:5]
    assert q["bare_numbers"] == [], q["bare_numbers"][:5]
    assert q["under_a_coin"] == []
    assert q["distinct_call_titles"] >= 0.8, q["distinct_call_titles"]
    assert q["consecutive_same_title"] <= 0.03 * q["memos"], q["consecutive_same_title"]
    assert q["words"][len(q["words"]) // 2] >= 400, "the median memo is not an argument"
    return q
