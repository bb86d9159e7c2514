"""Checks on what the loop wrote: a blocking data-quality gate, and a fact check of the prose."""

import dagster as dg

from ...lib.per_cycle import PARTITIONS, SETTINGS
from ...lib.variant_place import VariantPlace
from ...resources import DataQualityResource, WarehouseResource


def build_checks(variant: str, side: bool = False) -> list[dg.AssetChecksDefinition]:
    """The checks on what `variant`'s loop wrote: the code location's own, or a side
    variant's (on its prefixed `predictions` and `memo`)."""
    key = VariantPlace(variant, side).key

    @dg.asset_check(
        asset=key("predictions"),
        name="predictions_are_valid",
        blocking=True,
        partitions_def=PARTITIONS,
        description="great_expectations suites: calls parse, direction in up/down/flat, "
        "confidence in [0.5, 1], a timeframe that resolves to a horizon, subjects in the "
        "universe, one synthesis row per cycle. A failure stops scoring for the cycle.",
    )
    def predictions_are_valid(
        context: dg.AssetCheckExecutionContext,
        predictions,  # a DataFrame, unannotated: the load imports no pandas
        data_quality: DataQualityResource,
    ) -> dg.AssetCheckResult:
        return _valid(context, predictions, data_quality)

    @dg.asset_check(
        asset=key("memo"),
        name="memo_figures_match_data",
        blocking=False,
        partitions_def=PARTITIONS,
        additional_ins={
            "mind_opinions": dg.AssetIn(key=key("mind_opinions")),
            "cycle_features": dg.AssetIn(),
            "mind_context": dg.AssetIn(key=key("mind_context")),
        },
        description="Every figure quoted for a ticker or a series in the memo and the opinions "
        "must match the cycle's data within rounding; every headline cited ('[N2] “...”') must "
        "be one the cycle was shown, in its own words; and every claim of direction or size "
        "('yields falling hard', 'TLT rallying', 'volatility is elevated', 'broad breadth', "
        "'risk-off', the debate label) must agree with the sign and size of the cycle's data "
        "(predictions/claim_check.py); no mind makes a call at a conviction under a coin. "
        "What fails is listed. The loop refuses a memo whose "
        "claims fail before it is published (offline: it abstains and says why; a model: asked "
        "once to repair, then it abstains), so a claim failing here names a memo sealed by an "
        "earlier release, or a bug.",
    )
    def memo_figures_match_data(
        memo, mind_opinions, cycle_features, mind_context, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        return _figures(memo, mind_opinions, cycle_features, mind_context, warehouse)

    return [predictions_are_valid, memo_figures_match_data]


def _valid(context, predictions, data_quality: DataQualityResource) -> dg.AssetCheckResult:
    n_cycles = (
        len(context.partition_keys)
        if context.has_partition_key_range or context.has_partition_key
        else predictions["cycle_key"].nunique()
    )
    failures, evaluated = data_quality.validate_predictions(predictions, n_cycles)
    errors = predictions[predictions["parse_status"] == "error"]
    return dg.AssetCheckResult(
        passed=not failures,
        description="all expectations met"
        if not failures
        else "; ".join(map(str, failures))[:2000],
        metadata={
            "expectations_evaluated": evaluated,
            "failures": dg.MetadataValue.json([str(f) for f in failures]),
            "parse_errors": dg.MetadataValue.json(
                errors[["cycle_key", "source", "parse_error"]].astype(str).to_dict("records")
            ),
        },
    )


def _figures(
    memo, mind_opinions, cycle_features, mind_context, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    import pandas as pd

    from ...predictions.claim_check import claim_problems
    from ...predictions.factcheck import (
        FACT_COLUMNS,
        check_citations,
        check_figures,
        cycle_facts,
    )
    from ...store.records import records_by

    docs, headlines = _contexts(warehouse, mind_context)
    debate = {}
    for row in mind_opinions[["cycle_key", "mind", "stance", "abstained"]].to_dict("records"):
        debate.setdefault(row["cycle_key"], []).append(row)

    unsupported, checked = [], 0
    # A call names the side its mind thinks likelier: a conviction under a coin is no call.
    for row in mind_opinions[["cycle_key", "mind", "abstained", "confidence"]].to_dict("records"):
        if row["abstained"] or pd.isna(row["confidence"]):
            continue
        checked += 1
        if row["confidence"] < 0.5:
            unsupported.append(
                {
                    "cycle_key": row["cycle_key"],
                    "in": row["mind"],
                    "claim": f"a call at a conviction of {row['confidence']:.2f}, under a coin",
                }
            )
    # Each cycle's texts gathered in one pass (a range's frames filtered per cycle is quadratic).
    texts_of: dict[str, list[tuple[str, str]]] = {}
    for cycle_key, body in zip(memo["cycle_key"], memo["body"], strict=True):
        texts_of.setdefault(cycle_key, []).append(("memo", body))
    for cycle_key, mind, narrative in zip(
        mind_opinions["cycle_key"], mind_opinions["mind"], mind_opinions["narrative"], strict=True
    ):
        texts_of.setdefault(cycle_key, []).append((mind, narrative))
    # Only the columns the facts are read from.
    columns = ["cycle_key", *(c for c in FACT_COLUMNS if c in cycle_features.columns)]
    rows_of = records_by(cycle_features[columns], "cycle_key")
    for cycle_key in sorted(rows_of):
        facts = cycle_facts(rows_of[cycle_key])
        doc = docs.get(cycle_key)
        for where, text in texts_of.get(cycle_key, []):
            if doc is not None:
                label = _debate_label(debate.get(cycle_key, [])) if where == "memo" else None
                for problem in claim_problems(text, doc, label):
                    checked += 1
                    unsupported.append({"cycle_key": cycle_key, "in": where, "claim": problem})
            for problem in check_citations(text, headlines.get(cycle_key, {})):
                checked += 1
                unsupported.append({"cycle_key": cycle_key, "in": where, "claim": problem})
            for claim in check_figures(text, facts):
                checked += 1
                if not claim.supported:
                    unsupported.append(
                        {
                            "cycle_key": cycle_key,
                            "in": where,
                            "claim": claim.text,
                            "data": claim.actual,
                        }
                    )
    return dg.AssetCheckResult(
        passed=not unsupported,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{checked} figures checked, {len(unsupported)} unsupported",
        metadata={
            "figures_checked": checked,
            "unsupported": dg.MetadataValue.json(unsupported[:50]),
        },
    )


def _contexts(warehouse: WarehouseResource, mind_context) -> tuple[dict, dict]:
    """Each cycle's context document (its market and regime, for the claim check) and its
    headlines by the handle its context showed them under: cite -> title."""
    import json

    from ...market import news_archive

    docs = {
        key: json.loads(doc)
        for key, doc in zip(mind_context["cycle_key"], mind_context["context_json"], strict=True)
    }
    refs = {key: doc.get("news", []) for key, doc in docs.items()}
    ids = [r["item_id"] for rows in refs.values() for r in rows if "item_id" in r]
    with warehouse.connect() as conn:
        rows = news_archive.items(conn, ids)
    titles = dict(zip(rows["item_id"], rows["title"], strict=True))
    headlines = {
        key: {r["cite"]: titles.get(r["item_id"], "") for r in rows if "cite" in r}
        for key, rows in refs.items()
    }
    return docs, headlines


def _debate_label(rows: list[dict]) -> str | None:
    """The debate label of a cycle's opinions rows (minds/debate.py), or None without them."""
    if not rows:
        return None
    from ...minds.debate import debate_label
    from ...minds.types import Opinion

    return debate_label(
        [
            Opinion(mind=r["mind"], stance=r["stance"], narrative="", abstained=r["abstained"])
            for r in rows
        ]
    )


# The code location's own variant's, and each side variant's (WORKSHOP_VARIANTS).
predictions_are_valid, memo_figures_match_data = build_checks(SETTINGS.variant)
variant_checks = [c for v in SETTINGS.side_variants for c in build_checks(v, side=True)]
