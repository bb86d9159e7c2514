"""`variant_comparison`: every side variant against the code location's own, on the cycles both
ran in this warehouse (predictions/comparison.py: paired by cycle, block bootstrap intervals,
Diebold-Mariano), as a table, in the UI's metadata and on the site's Variants page."""

import dagster as dg

from ...lib.per_cycle import SETTINGS
from ...platform.metadata import preview
from ...resources import WarehouseResource

COLUMNS = {
    "a": "string",
    "b": "string",
    "scope": "string",
    "measure": "string",
    "n_cycles": "int64",
    "a_value": "float64",
    "b_value": "float64",
    "difference": "float64",
    "low": "float64",
    "high": "float64",
    "dm": "float64",
    "p_value": "float64",
    "verdict": "string",
    # The site's document of the pair (predictions/comparison.as_json), on each of its rows.
    "doc": "string",
}


def _synthesis_scores(conn, schema: str):
    """A variant's decided synthesis rows (empty when it has none yet)."""
    from ...store import asset_rows

    return asset_rows.synthesis_decided(conn, schema)


@dg.asset(
    group_name="variants",
    deps=[dg.AssetKey("prediction_scores")]
    + [dg.AssetKey([v, "prediction_scores"]) for v in SETTINGS.side_variants],
    metadata={"allow_empty": True},
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    description="Each side variant (WORKSHOP_VARIANTS) against the code location's own "
    "variant, on the cycles both ran: the difference in Brier, log score, hit rate and mean "
    "score over the calls both made and over all cycles (an abstention as a coin), with a "
    "95% moving-block bootstrap interval over days and a Diebold-Mariano test "
    "(predictions/comparison.py). Shown on the site's Variants page.",
)
def variant_comparison(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.Output:
    import json
    from dataclasses import asdict

    import pandas as pd

    from ...predictions.comparison import as_json, compare, cumulative, table

    main = SETTINGS.variant
    rows, tables = [], []
    with warehouse.connect() as conn:
        a_scores = _synthesis_scores(conn, "main")
        sides = {v: _synthesis_scores(conn, v) for v in SETTINGS.side_variants}
    for variant, b_scores in sides.items():
        if a_scores.empty or b_scores.empty:
            tables.append(f"### {main} against {variant}\n\nno decided cycle in both yet")
            continue
        result = compare(a_scores, b_scores)
        doc = as_json(main, variant, "warehouse", result, cumulative(a_scores, b_scores))
        text = json.dumps(doc)
        for r in result:
            fields = asdict(r)
            rows.append(
                {
                    "a": main,
                    "b": variant,
                    "scope": fields["scope"],
                    "measure": fields["measure"],
                    "n_cycles": fields["n_cycles"],
                    "a_value": fields["a"],
                    "b_value": fields["b"],
                    "difference": fields["difference"],
                    "low": fields["low"],
                    "high": fields["high"],
                    "dm": fields["dm"],
                    "p_value": fields["p_value"],
                    "verdict": r.verdict(main, variant),
                    "doc": text,
                }
            )
        tables.append(f"### {main} against {variant}\n\n" + table(result, main, variant))
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype(COLUMNS)
    if not SETTINGS.side_variants:
        tables = ["no side variant: WORKSHOP_VARIANTS=none"]
    context.log.info(f"{len(frame)} comparison rows for {len(sides)} side variant(s)")
    return dg.Output(
        frame,
        metadata={
            "comparison": dg.MetadataValue.md("\n\n".join(tables)),
            "pairs": int(frame[["a", "b"]].drop_duplicates().shape[0]),
            "preview": preview(frame.drop(columns=["doc"])),
        },
    )
