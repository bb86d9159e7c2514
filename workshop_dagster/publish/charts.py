"""Charts for the scoreboard, rendered to PNG with matplotlib at build time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..registry.minds import colour


def pyplot():
    """matplotlib's pyplot on the file-only backend (imported when a chart is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .theme import chart_style

    plt.rcParams.update(chart_style())
    return plt


def draw_reliability(ax, by_source: dict[str, pd.DataFrame], title: str) -> None:
    """The probability each call was scored at against the realized hit rate, per bin and
    source (`calibration_report.reliability` frames: outcomes, with 95% Wilson intervals), on
    one matplotlib axis."""
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", lw=1, label="perfectly calibrated")
    for source, rows in sorted(by_source.items()):
        if rows.empty:
            continue
        # Arrays, not Series: matplotlib calls float() on a one-row Series (a FutureWarning).
        hit = rows["hit_rate"].to_numpy(dtype=float)
        yerr = [
            (hit - rows["low"].to_numpy(dtype=float)).clip(min=0),
            (rows["high"].to_numpy(dtype=float) - hit).clip(min=0),
        ]
        # Points with their intervals, never joined: a line between bins reads as a trend
        # the bins do not have.
        ax.errorbar(
            rows["probability"].to_numpy(dtype=float),
            hit,
            yerr=yerr,
            fmt="o",
            ls="none",
            markersize=5,
            capsize=3,
            elinewidth=1.2,
            color=colour(source),
            label=source,
        )
        for row in rows.itertuples():
            ax.annotate(str(row.n), (row.probability, row.hit_rate), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("probability the call was scored at (bin mean)")
    ax.set_ylabel("realized hit rate of outcomes (95% Wilson interval)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)


def reliability_diagram(by_source: dict[str, pd.DataFrame], path: Path, title: str) -> Path:
    """`draw_reliability` as a PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=100)
    draw_reliability(ax, by_source, title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def running_scores(scores: pd.DataFrame, path: Path) -> Path:
    """Each source's share of its calls right so far, by the time each outcome was known: the
    running score a reader takes in at a glance, against a coin."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    ax.axhline(0.5, color="#999999", lw=1, ls="--", label="a coin")
    for source, rows in scores.sort_values("known_at").groupby("source"):
        hits = rows["hit"].astype(float).to_numpy()
        running = hits.cumsum() / (pd.Series(range(1, len(hits) + 1)).to_numpy())
        ax.plot(
            pd.to_datetime(rows["known_at"]).to_numpy(),
            running,
            label=f"{source} ({int(hits.sum())} of {len(hits)})",
            color=colour(source),
            lw=1.6,
            drawstyle="steps-post",
        )
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}%")
    ax.set_ylabel("share of calls right so far")
    ax.set_title("Running score: every new call, as its outcome became known")
    return _saved(plt, fig, ax, path)


def _saved(plt, fig, ax, path: Path) -> Path:
    """A chart over time, finished (legend, dates, layout) and written to `path`."""
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def cumulative_difference(doc: dict, path: Path) -> Path:
    """Two variants' running differences over the cycles both decided (a comparison document
    of `predictions/comparison.as_json`): score A − B above 0 and Brier A − B below 0 mean A ahead."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    points = doc["cumulative"]
    times = pd.to_datetime(pd.Series(points["cycle_ts"]))
    ax.plot(times, points["score"], lw=1.4, label=f"score, {doc['a']} − {doc['b']}")
    ax.plot(times, points["brier"], lw=1.4, label=f"Brier, {doc['a']} − {doc['b']}")
    ax.axhline(0, color="#999999", lw=1, ls="--")
    ax.set_ylabel("cumulative difference")
    ax.set_title(f"{doc['a']} against {doc['b']} ({doc['walk']} walk)")
    return _saved(plt, fig, ax, path)


# How the benchmarks are drawn beside the sources' curves (the sources in their own colours).
BENCHMARK_STYLE = {
    "buy_and_hold": ("#444444", "--"),
    "buy_and_hold_called": ("#888888", "--"),
    "cash": ("#bbbbbb", ":"),
    "always_up": ("#8c564b", "-."),
    "momentum": ("#e377c2", "-."),
}


def equity_curves(marks: pd.DataFrame, path: Path) -> Path:
    """Each paper portfolio's equity at every cycle (top) and its drawdown from its peak
    (bottom), the benchmarks dashed."""
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 5.6), dpi=100, sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for source, rows in marks.sort_values("cycle_ts").groupby("source", sort=False):
        colour_of, style = BENCHMARK_STYLE.get(source, (colour(source), "-"))
        equity = rows["equity"].to_numpy(dtype=float)
        times = pd.to_datetime(rows["cycle_ts"]).to_numpy()
        drawdown = 100.0 * (equity / pd.Series(equity).cummax().to_numpy() - 1.0)
        top.plot(times, equity, color=colour_of, ls=style, lw=1.3, label=source)
        bottom.plot(times, drawdown, color=colour_of, ls=style, lw=1.1)
    top.set_ylabel("equity ($)")
    top.set_title("Paper portfolios: following each source's calls, after costs")
    top.legend(fontsize=7, ncol=3)
    bottom.set_ylabel("drawdown (%)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
