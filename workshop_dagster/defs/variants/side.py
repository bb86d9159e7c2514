"""The side variants (WORKSHOP_VARIANTS): each variant of variants.yaml beside the code
location's own runs its own minds, calls, scores, lessons, record, rules, calibration and sealed
chain, over the one set of market and feature assets every variant shares.

Keys are prefixed with the variant's name (`no_feedback/predictions`) and its tables live in a
DuckDB schema of that name (`no_feedback.predictions`); its assets form the group
`variant_<name>`. Its jobs are in defs/cycle/variant_jobs.py.
"""

import dagster as dg

from ...cycle_assets import PARTITIONS, SETTINGS
from ...sql_models import load_sql_assets
from ..minds.deliberation import build_deliberation
from ..predictions.checks import build_checks
from ..predictions.scores import build_scoring
from ..track_record.paper_portfolios import build_paper_checks, build_paper_portfolios


def _assets(variant: str) -> list[dg.AssetsDefinition]:
    return [
        build_deliberation(variant, side=True),
        *build_scoring(variant, side=True),
        *load_sql_assets(PARTITIONS, group="track_record", variant=variant),
        build_paper_portfolios(variant, side=True),
    ]


variant_assets = [a for v in SETTINGS.side_variants for a in _assets(v)]
variant_checks = [
    c
    for v in SETTINGS.side_variants
    for c in [*build_checks(v, side=True), *build_paper_checks(v, side=True)]
]
