"""The side variants (WORKSHOP_VARIANTS): each variant of variants.yaml beside the code
location's own runs its own minds, calls, scores, lessons, record, rules, calibration and sealed
chain, over the one set of market and feature assets every variant shares.

Keys are prefixed with the variant's name (`no_feedback/predictions`) and its tables live in a
DuckDB schema of that name (`no_feedback.predictions`); its assets form the group
`variant_<name>`. Per variant, three jobs: `<name>_cycle` (its minds, calls and scores for a
cycle or a range: materialize the market first, with the `cycle` job), `<name>_score` (what the
scoring sensor requests when its calls mature) and `<name>_rollups` (its record, and the
comparison with the code location's own variant; the rollups sensor requests it).
"""

import dagster as dg

from ...cycle_assets import PARTITIONS, SETTINGS
from ...sql_models import load_sql_assets
from ..minds.deliberation import LOOP_OUTPUTS, build_deliberation
from ..predictions.checks import build_checks
from ..predictions.scores import build_scoring

PER_CYCLE_ASSETS = (*LOOP_OUTPUTS, "prediction_scores", "lessons")
RECORD_ASSETS = ("track_record", "calibration", "rules")


def keys(variant: str, names) -> list[dg.AssetKey]:
    return [dg.AssetKey([variant, n]) for n in names]


def jobs_of(variant: str) -> dict[str, str]:
    """The names of a side variant's jobs, by what they do."""
    return {k: f"{variant}_{k}" for k in ("cycle", "score", "rollups")}


def _assets(variant: str) -> list[dg.AssetsDefinition]:
    return [
        build_deliberation(variant, side=True),
        *build_scoring(variant, side=True),
        *load_sql_assets(PARTITIONS, group="track_record", variant=variant),
    ]


def _jobs(variant: str) -> list:
    names = jobs_of(variant)
    return [
        dg.define_asset_job(
            names["cycle"],
            selection=dg.AssetSelection.assets(*keys(variant, PER_CYCLE_ASSETS)),
            description=f"One cycle (or a range) of variant {variant}: its minds, memo, calls "
            "(with their checks) and the scores of calls whose horizon has ended, over the "
            "market and features every variant shares (materialize them first: the `cycle` job).",
        ),
        dg.define_asset_job(
            names["score"],
            selection=dg.AssetSelection.assets(*keys(variant, ("prediction_scores", "lessons"))),
            description=f"Score variant {variant}'s calls of a cycle whose horizons have ended "
            "(what the scoring sensor requests).",
        ),
        dg.define_asset_job(
            names["rollups"],
            selection=dg.AssetSelection.assets(
                *keys(variant, RECORD_ASSETS), "variant_comparison", "site"
            ),
            description=f"Variant {variant}'s track record, calibration and rules from every "
            "score so far, its comparison with the code location's own variant, and the site.",
        ),
    ]


variant_assets = [a for v in SETTINGS.side_variants for a in _assets(v)]
variant_checks = [c for v in SETTINGS.side_variants for c in build_checks(v, side=True)]
_JOBS = {
    v: dict(zip(("cycle", "score", "rollups"), _jobs(v), strict=True))
    for v in SETTINGS.side_variants
}
variant_jobs = [j for jobs in _JOBS.values() for j in jobs.values()]
# What the sensors request for each side variant (defs/predictions/scoring_sensor.py,
# defs/track_record/rollups.py).
SCORE_JOBS = {v: jobs["score"] for v, jobs in _JOBS.items()}
ROLLUPS_JOBS = {v: jobs["rollups"] for v, jobs in _JOBS.items()}
