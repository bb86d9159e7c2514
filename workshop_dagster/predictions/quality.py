"""great_expectations suites on parsed predictions: the gate before scoring.

`validate_predictions` runs three suites on a predictions frame and returns the failures in
words. great_expectations is imported here, inside the call: its import is slow (docs/performance.md), and the
code location must load fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from ..market.universe import TICKERS
from ..registry.minds import sources


@dataclass
class Failure:
    suite: str
    expectation: str
    column: str | None
    unexpected_count: int
    examples: list

    def __str__(self) -> str:
        col = f" on {self.column}" if self.column else ""
        return (
            f"{self.suite}: {self.expectation}{col} failed "
            f"({self.unexpected_count} rows, e.g. {self.examples[:3]})"
        )


def _suites(n_cycles: int):
    import great_expectations.expectations as gxe

    universe = sorted(TICKERS)
    return {
        # Every call must be a call or an explicit abstention; a parse error stops scoring.
        "all_rows": [
            gxe.ExpectColumnValuesToBeInSet(
                column="parse_status", value_set=["parsed", "abstained"]
            ),
            gxe.ExpectColumnValuesToBeInSet(column="source", value_set=list(sources())),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["cycle_key", "source"]),
        ],
        "parsed_calls": [
            gxe.ExpectColumnValuesToBeInSet(column="direction", value_set=["up", "down", "flat"]),
            gxe.ExpectColumnValuesToNotBeNull(column="direction"),
            # The probability a call is scored at: a call under a coin flip is not a call
            # (docs/scoring.md, "What CONFIDENCE means").
            gxe.ExpectColumnValuesToBeBetween(column="confidence", min_value=0.5, max_value=1.0),
            gxe.ExpectColumnValuesToNotBeNull(column="confidence"),
            gxe.ExpectColumnValuesToBeBetween(
                column="timeframe_hours", min_value=0.0, strict_min=True
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="horizon_end"),
            gxe.ExpectColumnValuesToBeInSet(column="ticker", value_set=universe),
            gxe.ExpectColumnValuesToBeInSet(column="relative_to", value_set=universe),
        ],
        "synthesis": [
            gxe.ExpectColumnValuesToBeUnique(column="cycle_key"),
            gxe.ExpectTableRowCountToEqual(value=n_cycles),
        ],
    }


def validate_predictions(frame: pd.DataFrame, n_cycles: int) -> tuple[list[Failure], int]:
    """(failures, expectations evaluated) for the predictions of `n_cycles` cycles."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("workshop")
    batches = {
        "all_rows": frame,
        "parsed_calls": frame[frame["parse_status"] == "parsed"],
        "synthesis": frame[frame["source"] == "synthesis"],
    }
    failures: list[Failure] = []
    evaluated = 0
    for name, expectations in _suites(n_cycles).items():
        data = batches[name].reset_index(drop=True)
        if data.empty and name == "parsed_calls":
            continue
        definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        suite = gx.ExpectationSuite(name=name)
        for expectation in expectations:
            suite.add_expectation(expectation)
        result = definition.get_batch(batch_parameters={"dataframe": data}).validate(suite)
        for r in result.results:
            evaluated += 1
            if not r.success:
                cfg = r.expectation_config
                failures.append(
                    Failure(
                        suite=name,
                        expectation=cfg.type,
                        column=cfg.kwargs.get("column"),
                        unexpected_count=int(
                            r.result.get("unexpected_count") or r.result.get("observed_value") or 0
                        ),
                        examples=list(r.result.get("partial_unexpected_list") or [])
                        or [r.result.get("observed_value")],
                    )
                )
    return failures, evaluated
