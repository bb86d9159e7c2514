"""One look for the site: the palette the stylesheet and the charts share, and the charts' style.

The stylesheet (`templates/style.css`) reads the palette as CSS variables written here from the
same values matplotlib draws with, the minds' colours from the registry, so a mind's line on a
chart and its name in a table are one colour.
"""

from __future__ import annotations

from ..registry.minds import minds

PALETTE = {
    "ink": "#1f2430",
    "muted": "#5f6673",
    "rule": "#dfe3ea",
    "paper": "#ffffff",
    "panel": "#f6f7f9",
    "accent": "#2b5fab",
    "hit": "#1b7a3a",
    "miss": "#b3261e",
    "pending": "#8a6d00",
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
CHART_FONTS = ["DejaVu Sans", "Liberation Sans", "Arial"]


def css_root() -> str:
    """`:root { --ink: …; --mind-macro: … }`: the palette and the minds' colours as CSS."""
    lines = [f"  --{name}: {value};" for name, value in PALETTE.items()]
    lines += [f"  --mind-{m.name}: {m.colour};" for m in minds()]
    lines.append(f"  --font: {FONT};")
    return ":root {\n" + "\n".join(lines) + "\n}\n"


def chart_style() -> dict:
    """matplotlib rcParams for every chart: the site's ink and rules, light grid, no box."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": CHART_FONTS,
        "font.size": 9,
        "text.color": PALETTE["ink"],
        "axes.labelcolor": PALETTE["muted"],
        "axes.edgecolor": PALETTE["rule"],
        "axes.titleweight": "bold",
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": PALETTE["rule"],
        "grid.linewidth": 0.6,
        "xtick.color": PALETTE["muted"],
        "ytick.color": PALETTE["muted"],
        "legend.frameon": False,
        "figure.facecolor": PALETTE["paper"],
        "savefig.facecolor": PALETTE["paper"],
    }
