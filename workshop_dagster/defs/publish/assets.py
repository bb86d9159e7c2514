"""Publishing: a post per cycle in the seeds' layout, and the static scoreboard site."""

import dagster as dg

from ...lib.per_cycle import CYCLE_TABLE, PER_CYCLE
from ...platform.metadata import for_run
from ...resources import PublishResource, WarehouseResource

# The frames are unannotated and pandas and the domain modules imported in the bodies: the code
# location's load (every run, sensor tick and UI reload) then imports no pandas (docs/performance.md).


def _kind(score: dict | None) -> str:
    if not score or score.get("parse_status") == "abstained":
        return "abstention"
    if score.get("parse_status") != "parsed":
        return "unparseable"
    return "restatement" if score.get("status") == "restatement" else "call"


def _outcome(score: dict | None) -> tuple[str, str]:
    if not score or score["status"] == "pending":
        return "pending", "pending"
    if score["status"] == "restatement":
        return f"restates {score['restates']}: scored there", "restatement"
    if score["status"] == "scored":
        verdict = "hit" if score["hit"] else "miss"
        return (
            f"{verdict}: {score['realized_return_pct']:+.2f}%, score {score['score']:.2f}",
            verdict,
        )
    return score["status"], score["status"]


@dg.asset(
    group_name="publish",
    **PER_CYCLE,
    metadata=CYCLE_TABLE,
    kinds={"markdown", "duckdb"},
    pool="duckdb",
    description="Each cycle's memo as a Markdown post in the seeds' layout, with the permanent "
    "link and, once the call is scored, an outcome section appended after a marker; and what "
    "the call was made from (headlines with the time each became visible, the figures quoted, "
    "the record, lessons and rules shown: publish/provenance.py), shown under the post on the "
    "site and, for the latest cycle, in the metadata.",
)
def posts(
    context: dg.AssetExecutionContext,
    memo,
    prediction_scores,
    mind_context,
    publisher: PublishResource,
    warehouse: WarehouseResource,
) -> dg.Output:
    import pandas as pd

    from ...minds.stored_contexts import read_full
    from ...predictions import seals as sealed_record
    from ...publish.posts import outcome_lines, post_slug, render_post, write_post
    from ...publish.provenance import provenance_markdown
    from ...publish.sealed_pages import call_text

    with warehouse.connect() as conn:
        contexts = read_full(conn, mind_context)
        chain = sealed_record.chain(conn).drop_duplicates("cycle_key", keep="last")
    sealed = {r["cycle_key"]: r for r in chain.to_dict("records")}

    synthesis = prediction_scores[prediction_scores["source"] == "synthesis"]
    scores = {r["cycle_key"]: r for r in synthesis.to_dict("records")}
    rows = []
    for m in memo.sort_values("cycle_ts").to_dict("records"):
        slug = post_slug(m["cycle_key"])
        score = scores.get(m["cycle_key"])
        text = render_post(m["body"], publisher.permalink(slug), score)
        path = write_post(publisher.posts_dir, slug, text)
        outcome_text, outcome_class = _outcome(score)
        rows.append(
            {
                "cycle_key": m["cycle_key"],
                "cycle_ts": m["cycle_ts"],
                "slug": slug,
                "path": str(path),
                "title": m["title"],
                "markdown": text,
                "cycle_label": f"{pd.Timestamp(m['cycle_ts']):%Y-%m-%d %H:%M} · #{m['ordinal']}",
                "call_text": call_text(score),
                "outcome_text": outcome_text,
                "outcome_class": outcome_class,
                # What the cycle's synthesis did: a new call (the index opens on these), a
                # restatement of a call still standing, an abstention, or no parsable call.
                "kind": _kind(score),
                "has_outcome": bool(outcome_lines(score)),
                "provenance": provenance_markdown(
                    contexts[m["cycle_key"]], m["body"], sealed.get(m["cycle_key"])
                ),
            }
        )
    frame = pd.DataFrame(rows)
    last = rows[-1]
    return dg.Output(
        frame,
        metadata=for_run(
            context,
            "posts",
            {
                "posts_dir": dg.MetadataValue.path(str(publisher.posts_dir)),
                "latest_post": dg.MetadataValue.path(last["path"]),
                "latest_post_markdown": dg.MetadataValue.md(last["markdown"]),
                "with_outcome": int(frame["has_outcome"].sum()),
                "latest_provenance": dg.MetadataValue.md(last["provenance"]),
            },
        ),
    )


def _board_markdown(board) -> str:
    """The scoreboard as the UI shows it: calls (new ideas) and restatements apart, and each
    source's reading in words that come from its intervals (predictions/verdicts.py)."""

    from ...predictions.verdicts import FLOOR_NOTE, reading, record_figures

    table = board[["source", "n", "n_restatements", "n_abstained", "brier_skill"]].rename(
        columns={"n": "calls", "n_restatements": "restatements", "n_abstained": "abstained"}
    )
    table["reading"] = [reading(*record_figures(r)) for r in board.to_dict("records")]
    return table.to_markdown(index=False) + "\n\n" + FLOOR_NOTE


def _comparisons() -> list[dict]:
    """The variant comparisons `make compare` wrote (data/evaluation/comparisons/*.json); a
    file that does not parse is skipped with a warning, not published."""
    import json

    from ...config.variants import evaluation_folder

    out = []
    for path in sorted((evaluation_folder("baseline") / "comparisons").glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            if {"a", "b", "walk", "rows", "cumulative"} <= set(doc):
                out.append(doc)
                continue
        except (OSError, ValueError):
            pass
        dg.get_dagster_logger().warning(f"{path} is not a comparison `make compare` wrote; skipped")
    return out


def _warehouse_comparisons(conn) -> list[dict]:
    """The side variants' comparisons on this warehouse's cycles (`variant_comparison`, once
    it has been built)."""
    import json

    from ...store import asset_rows

    return [json.loads(doc) for doc in asset_rows.comparison_documents(conn)]


@dg.asset(
    group_name="publish",
    ins={
        "posts": dg.AssetIn(),
        "prediction_scores": dg.AssetIn(),
        "track_record": dg.AssetIn(),
        "calibration": dg.AssetIn(),
        "rules": dg.AssetIn(),
    },
    # Read when they exist (a loop without side variants never builds the comparison).
    deps=["variant_comparison", "paper_performance"],
    kinds={"html"},
    description="A static HTML site (no server needed): posts newest first with calls and "
    "outcomes, a scoreboard with per-mind and per-regime tables (outcomes and calls, each "
    "source's skill and why), the running score per mind and the active rules with their "
    "evidence, and a calibration report per source and month (reliability with intervals, "
    "ECE, the Brier decomposition).",
)
def site(
    posts,
    prediction_scores,
    track_record,
    calibration,
    rules,
    publisher: PublishResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    from dataclasses import asdict

    from ...config.settings import active
    from ...predictions import record_head
    from ...predictions import seals as sealed_record
    from ...predictions.signing import signer_for
    from ...publish.site import SiteData, build_site
    from ...store import asset_rows
    from ...store.warehouse import table_exists

    with warehouse.connect() as conn:
        seals = sealed_record.chain(conn)
        public_keys = sealed_record.public_keys(conn)
        memos = asset_rows.memo_bodies(conn)
        warehouse_comparisons = _warehouse_comparisons(conn)
        paper = {
            name: asset_rows.whole(conn, name)
            for name in ("paper_positions", "paper_equity", "paper_performance")
            if table_exists(conn, name)
        }
    data = SiteData(
        posts=posts,
        track_record=track_record,
        calibration=calibration,
        rules=rules,
        scores=prediction_scores,
        seals=seals,
        memos=memos,
        public_keys=public_keys,
        signer=signer_for(active().signing_key),
        comparisons=_comparisons() + warehouse_comparisons,
        paper_positions=paper.get("paper_positions"),
        paper_equity=paper.get("paper_equity"),
        paper_performance=paper.get("paper_performance"),
        portfolio_rules=active().portfolio,
    )
    built = build_site(data, publisher.site_dir)
    head = record_head.head_of(seals)
    board = (
        track_record[
            (track_record["regime"] == "all")
            & (track_record["timeframe_bucket"] == "all")
            & (track_record["subject_kind"] == "all")
        ]
        if len(track_record)
        else track_record
    )
    return dg.MaterializeResult(
        metadata={
            "site": dg.MetadataValue.path(str(publisher.site_dir / "index.html")),
            "scoreboard": dg.MetadataValue.md(
                _board_markdown(board) if len(board) else "no scored calls yet"
            ),
            "posts": built["posts"],
            # The head this build published, kept in the instance: `verify` finds a site
            # rolled back below it (predictions/record_head.py).
            "record_head": dg.MetadataValue.json(asdict(head)) if head else "nothing sealed yet",
            "record_rows": len(seals),
            "charts": len(built["images"]),
            "rules": built["rules"],
        }
    )
