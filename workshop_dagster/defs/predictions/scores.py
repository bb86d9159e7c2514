"""Scoring: each call judged from prices when its horizon has ended, and the lesson it teaches."""

import dagster as dg

from ...lib.per_cycle import CYCLE_TABLE, PER_CYCLE, SETTINGS, permanent_errors_fail_fast
from ...lib.variant_place import VariantPlace
from ...market import calendar
from ...platform.metadata import for_run
from ...resources import MarketResource

# The frames are unannotated and pandas and the domain modules imported in the bodies: the code
# location's load (every run, sensor tick and UI reload) then imports no pandas (docs/performance.md).


SCORES_DESCRIPTION = (
    "Each call scored from prices once its horizon has ended, inside one series "
    "(`scored_on`): a call whose cycle saw a quote of its minute from the intraday bars (entry: "
    "the price the cycle saw; exit: the last bar ended by the horizon), else from daily closes "
    "(entry: last close at the cycle; exit: last close at the horizon end); pairs score the "
    "relative return. Calls not yet due are `pending`; abstentions are recorded apart. Rubric: "
    "docs/scoring.md."
)
LESSONS_DESCRIPTION = (
    "A short reflection per scored call, in the seeds' voice, stamped with the time its "
    "outcome became known (known_at)."
)


def build_scoring(variant: str, side: bool = False) -> list[dg.AssetsDefinition]:
    """`prediction_scores` and `lessons` of `variant`: the code location's own, or a side
    variant's (keys prefixed with its name, its own DuckDB schema and asset group)."""
    place = VariantPlace(variant, side)
    scores_key, lessons_key = place.key("prediction_scores"), place.key("lessons")

    @dg.asset(
        key=scores_key,
        ins={"predictions": dg.AssetIn(key=place.key("predictions"))},
        group_name=place.group("predictions"),
        **PER_CYCLE,
        metadata={**CYCLE_TABLE, **place.metadata},
        kinds={"duckdb", "pandas"},
        pool="duckdb",
        description=place.described(SCORES_DESCRIPTION),
    )
    def prediction_scores(
        context: dg.AssetExecutionContext, predictions, market: MarketResource
    ) -> dg.Output:
        return _scores(context, predictions, market, scores_key)

    @dg.asset(
        key=lessons_key,
        ins={"prediction_scores": dg.AssetIn(key=scores_key)},
        group_name=place.group("predictions"),
        **PER_CYCLE,
        metadata={**CYCLE_TABLE, "allow_empty": True, **place.metadata},
        kinds={"duckdb", "pandas"},
        pool="duckdb",
        description=place.described(LESSONS_DESCRIPTION),
    )
    def lessons(context: dg.AssetExecutionContext, prediction_scores) -> dg.Output:
        import pandas as pd

        from ...predictions.lessons import lessons_frame

        frame = lessons_frame(prediction_scores)
        frame["known_at"] = pd.to_datetime(frame["known_at"]).astype("datetime64[ns]")
        frame["cycle_ts"] = pd.to_datetime(frame["cycle_ts"]).astype("datetime64[ns]")
        return dg.Output(frame, metadata=for_run(context, lessons_key, {"lessons": len(frame)}))

    return [prediction_scores, lessons]


def _scores(context, predictions, market: MarketResource, key: dg.AssetKey) -> dg.Output:
    import pandas as pd

    from ...predictions.scoring import minute_legs, score_calls

    now = calendar.now_ny()
    start = predictions["cycle_ts"].min() - pd.Timedelta(days=10)
    end = (
        min(now, predictions["horizon_end"].max())
        if predictions["horizon_end"].notna().any()
        else predictions["cycle_ts"].max()
    )
    end = max(end, predictions["cycle_ts"].max())
    # Intraday bars only for the tickers of calls made at the minute.
    with permanent_errors_fail_fast():
        closes = market.scoring_prices(start, end, intraday_tickers=minute_legs(predictions))
    scores = score_calls(predictions, closes, now=now)
    for col in ("entry_ts", "exit_ts", "known_at"):
        scores[col] = pd.to_datetime(scores[col]).astype("datetime64[ns]")
    scores["hit"] = scores["hit"].astype("boolean")
    counts = scores["status"].value_counts().to_dict()
    scored = scores[scores["status"] == "scored"]
    return dg.Output(
        scores,
        metadata=for_run(
            context,
            key,
            {
                "status_counts": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
                "hit_rate": float(scored["hit"].mean()) if len(scored) else None,
                "mean_score": float(scored["score"].mean()) if len(scored) else None,
            },
        ),
    )


# The code location's own variant's, and each side variant's (WORKSHOP_VARIANTS).
prediction_scores, lessons = build_scoring(SETTINGS.variant)
variant_scoring = [a for v in SETTINGS.side_variants for a in build_scoring(v, side=True)]
