"""The evaluation's figures as a table, a JSON file and a reliability diagram."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .metrics import reliability_bins

COLUMNS = ["n", "hit_rate", "brier", "brier_skill", "ece", "abstention_rate"]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}"


def table(figures: dict[str, dict[str, dict]]) -> str:
    """A Markdown table: one row per period and source."""
    lines = [
        "| period | source | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for period, rows in figures.items():
        for source, row in rows.items():
            cells = " | ".join(_fmt(row[c]) for c in COLUMNS)
            lines.append(f"| {period} | {source} | {cells} |")
    return "\n".join(lines)


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
    """Stated confidence against realized hit rate, one panel per period, a line per source."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(periods), figsize=(5.5 * len(periods), 5), squeeze=False)
    for ax, (period, frame) in zip(axes[0], periods.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1, label="perfect")
        for source in sources:
            bins = reliability_bins(frame[frame["source"] == source])
            if bins.empty:
                continue
            ax.plot(bins["confidence"], bins["hit_rate"], marker="o", label=source)
            if source == "synthesis":
                for row in bins.itertuples():
                    ax.annotate(str(row.n), (row.confidence, row.hit_rate), fontsize=7)
        ax.set_title(period)
        ax.set_xlabel("stated probability")
        ax.set_ylabel("realized hit rate")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
