"""The evaluation's figures as a table, a JSON file and a reliability diagram."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

COLUMNS = ["n", "n_restatements", "hit_rate", "brier", "brier_skill", "ece", "abstention_rate"]
HEADERS = {
    "n": "calls",
    "n_restatements": "restated",
    "hit_rate": "hit rate [95%]",
    "brier": "Brier",
    "brier_skill": "Brier skill [95%]",
    "ece": "ECE",
    "abstention_rate": "abstained",
}


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"


def _cell(row: dict, column: str) -> str:
    """A figure, with its block-bootstrap interval where it has one."""
    text = _fmt(row.get(column))
    low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
        text += f" [{low:.3f}, {high:.3f}]"
    return text


def table(figures: dict[str, dict[str, dict]]) -> str:
    """A Markdown table: one row per period and source (new calls counted, restatements beside
    them, intervals from the moving-block bootstrap over days)."""
    lines = [
        "| period | source | " + " | ".join(HEADERS.get(c, c) for c in COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for period, rows in figures.items():
        if period in ("comparisons", "portfolios"):  # their own sections
            continue
        for source, row in rows.items():
            cells = " | ".join(_cell(row, c) for c in COLUMNS)
            lines.append(f"| {period} | {source} | {cells} |")
    return "\n".join(lines)


def verdicts(figures: dict) -> list[str]:
    """A plain line per source and baseline: better, worse, or no difference beyond chance."""
    lines = []
    for pair, c in figures.get("comparisons", {}).items():
        source, baseline = pair.split(" vs ")
        d, lo, hi = c["difference"], c["low"], c["high"]
        if any(v is None or math.isnan(v) for v in (d, lo, hi)):
            lines.append(f"{source} against {baseline}: too few calls to compare.")
            continue
        if hi < 0:
            word = f"better than {baseline}"
        elif lo > 0:
            word = f"worse than {baseline}"
        else:
            word = f"no better or worse than {baseline} beyond chance"
        # Enough digits that a difference too small for three decimals does not read as 0.
        digits = 3 if max(abs(d), abs(lo), abs(hi)) >= 0.001 else 5
        lines.append(
            f"{source}: {word} (Brier {d:+.{digits}f}, 95% interval "
            f"[{lo:+.{digits}f}, {hi:+.{digits}f}])."
        )
    return lines


def rounded(figures: dict) -> dict:
    """Figures rounded for the JSON file (NaN as null), so runs compare byte for byte."""

    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, float):
            return None if math.isnan(v) else round(v, 6)
        return v

    return clean(figures)


def write_json(figures: dict, path: Path) -> None:
    path.write_text(json.dumps(rounded(figures), indent=2, sort_keys=True) + "\n")


def reliability_diagram(periods: dict[str, pd.DataFrame], sources: list[str], path: Path) -> None:
    """The probability each call was scored at against the realized hit rate of the outcomes,
    with 95% Wilson intervals (as on the site's calibration report), one panel per period, a
    line per source."""
    from ..predictions import calibration_report
    from ..publish.charts import draw_reliability, pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, len(periods), figsize=(5.5 * len(periods), 5), squeeze=False)
    for ax, (period, frame) in zip(axes[0], periods.items(), strict=True):
        outcomes = calibration_report.outcomes(frame[frame["source"].isin(sources)])
        by_source = {s: calibration_report.reliability(g) for s, g in outcomes.groupby("source")}
        draw_reliability(ax, by_source, period)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
