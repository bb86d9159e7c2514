"""The side variants' jobs (WORKSHOP_VARIANTS; each domain in defs/ builds its assets for every
variant), and the names of the assets they select. Per variant:
`<name>_cycle` (its minds, calls and scores for a cycle or a range, over the market the `cycle`
job materializes), `<name>_score` (what the scoring sensor requests when its calls mature) and
`<name>_rollups` (its record, the comparison with the loop, and the site; the rollups sensor
requests it). Named by asset key only, so the sensors that request them need none of the
variants' asset code; below defs/, so the domains that request them (the scoring and rollups
sensors) import no other domain. Loaded as definitions through defs/cycle/jobs.py."""

import dagster as dg

from .per_cycle import SETTINGS
from .variant_place import VariantPlace

# The outputs of the `deliberation` step (defs/minds/deliberation.py describes each).
LOOP_OUTPUTS = ("mind_context", "mind_opinions", "debate", "memo", "predictions", "llm_calls")

PER_CYCLE_ASSETS = (*LOOP_OUTPUTS, "prediction_scores", "lessons")
RECORD_ASSETS = ("track_record", "calibration", "rules")
PAPER_ASSETS = ("paper_positions", "paper_equity", "paper_performance")


def keys(variant: str, names) -> list[dg.AssetKey]:
    """The keys of a side variant's assets of these names (`placebo/predictions`)."""
    return [VariantPlace(variant, side=True).key(n) for n in names]


def _jobs(variant: str) -> dict:
    return {
        "cycle": dg.define_asset_job(
            f"{variant}_cycle",
            selection=dg.AssetSelection.assets(*keys(variant, PER_CYCLE_ASSETS)),
            description=f"One cycle (or a range) of variant {variant}: its minds, memo, calls "
            "(with their checks) and the scores of calls whose horizon has ended, over the "
            "market and features every variant shares (materialize them first: the `cycle` job).",
        ),
        "score": dg.define_asset_job(
            f"{variant}_score",
            selection=dg.AssetSelection.assets(*keys(variant, ("prediction_scores", "lessons"))),
            description=f"Score variant {variant}'s calls of a cycle whose horizons have ended "
            "(what the scoring sensor requests).",
        ),
        "rollups": dg.define_asset_job(
            f"{variant}_rollups",
            selection=dg.AssetSelection.assets(
                *keys(variant, RECORD_ASSETS),
                *keys(variant, PAPER_ASSETS),
                "variant_comparison",
                "site",
            ),
            description=f"Variant {variant}'s track record, calibration and rules from every "
            "score so far, its paper portfolios, its comparison with the code location's own "
            "variant, and the site.",
        ),
    }


_JOBS = {v: _jobs(v) for v in SETTINGS.side_variants}
variant_jobs = [job for jobs in _JOBS.values() for job in jobs.values()]
# What the sensors request for each side variant (defs/predictions/scoring_sensor.py,
# defs/track_record/rollups.py).
SCORE_JOBS = {v: jobs["score"] for v, jobs in _JOBS.items()}
ROLLUPS_JOBS = {v: jobs["rollups"] for v, jobs in _JOBS.items()}
