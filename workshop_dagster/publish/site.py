"""The static scoreboard site: posts newest first, each post, and a scoreboard with charts.

Everything that came from a model or from news is escaped before it reaches HTML: templates
autoescape, and Markdown is rendered with raw HTML disabled.

(Over 350 lines: every page of the site from one `SiteData`; the charts, posts, layout and theme
are modules of their own.)
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..predictions import calibration_report as report
from ..predictions import record_head, verdicts
from ..predictions.signing import Signer
from .charts import reliability_diagram, running_scores
from .layout import OUTCOME_MARKER
from .posts import markdown_to_html, split_post
from .sealed_pages import sealed_block
from .theme import css_root

TEMPLATES = Path(__file__).parent / "templates"
SMALL_N = 5
EVIDENCE_ROWS = 10


@dataclass
class SiteData:
    posts: pd.DataFrame  # cycle_key, cycle_ts, slug, title, markdown, + synthesis call/outcome
    track_record: pd.DataFrame
    calibration: pd.DataFrame
    rules: pd.DataFrame
    scores: pd.DataFrame  # prediction_scores rows (all sources)
    # The sealed record (record_seals rows) and each sealed cycle's memo, published so anyone
    # can verify them (`python -m workshop_dagster.commands.verify --site`); empty: nothing sealed yet.
    seals: pd.DataFrame | None = None
    memos: dict[str, str] | None = None
    # The public keys that signed seals (key id -> PEM), published beside the record.
    public_keys: dict[str, str] | None = None
    # The record's signing key (WORKSHOP_SIGNING_KEY): the published head is signed with it.
    signer: Signer | None = None
    # Variant comparisons `make compare` wrote (predictions/comparison.as_json), for the Variants page.
    comparisons: list[dict] | None = None
    # The paper portfolios (paper_positions, paper_equity, paper_performance) and their rules,
    # for the Portfolio page and each post's position; None: not built yet.
    paper_positions: pd.DataFrame | None = None
    paper_equity: pd.DataFrame | None = None
    paper_performance: pd.DataFrame | None = None
    portfolio_rules: object | None = None


def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _page_permalink(markdown: str, slug: str) -> str:
    """The post's "Permanent link:" line as a link that resolves from its page: the published
    URL, or (a relative path, meant for the Markdown file) the page itself."""

    def link(m: re.Match) -> str:
        url = m.group(1).strip()
        href = url if url.startswith(("http://", "https://", "/")) else f"{slug}.html"
        return f"Permanent link: [{href}]({href})"

    return re.sub(r"^Permanent link: (.+)$", link, markdown, flags=re.M)


def _fmt(v, pct=False, digits=2):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "—"
    return f"{100 * v:.0f}%" if pct else f"{v:.{digits}f}"


def _table_rows(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for r in frame.to_dict("records"):
        n = int(r["n"] or 0)
        hits = int(r["hits"] or 0)
        lo, hi = report.wilson(hits, n) if n else (None, None)
        rows.append(
            {
                "source": r["source"],
                "regime": r["regime"],
                "n": n,
                "restatements": int(r.get("n_restatements") or 0),
                "abstained": int(r["n_abstained"] or 0),
                "hit_rate": _fmt(r["hit_rate"], pct=True),
                "interval": f"{100 * lo:.0f}–{100 * hi:.0f}%" if n else "—",
                "mean_score": _fmt(r["mean_score"]),
                "brier": _fmt(r["brier"], digits=3),
                "skill": _fmt(r["brier_skill"]),
                "verdict": verdicts.reading(*verdicts.record_figures(r)),
                "small": n < SMALL_N,
            }
        )
    return rows


def _variants_page(env, staging: Path, comparisons: list[dict]) -> list[str]:
    """`variants.html`: each comparison of two mind variants (`make compare`) with its table
    and a chart of the running differences. Returns the images written."""
    from .charts import cumulative_difference

    images, shown = [], []
    for i, doc in enumerate(sorted(comparisons, key=lambda d: (d["walk"], d["a"], d["b"]))):
        image = f"img/variants-{i}.png"
        cumulative_difference(doc, staging / image)
        images.append(image)
        shown.append({**doc, "image": image})
    (staging / "variants.html").write_text(
        env.get_template("variants.html").render(comparisons=shown), encoding="utf-8"
    )
    return images


def _calibration_page(env, staging: Path, outcomes: pd.DataFrame) -> list[str]:
    """`calibration.html`: per source, the reliability of the probabilities its calls were
    scored at (a diagram over all months, with intervals) and a row per month: n outcomes and
    calls, hit rate, Brier and its decomposition, ECE (`outcomes`: `report.outcomes` rows).
    Returns the images written."""
    images = []
    by_source = {s: report.reliability(g) for s, g in outcomes.groupby("source")}
    if len(outcomes):
        reliability_diagram(by_source, staging / "img" / "reliability.png", "Reliability")
        images.append("img/reliability.png")
    table = report.monthly(outcomes)
    sources = []
    for source, rows in table.groupby("source", sort=True):
        image = f"img/reliability-{re.sub(r'[^A-Za-z0-9_-]', '_', source)}.png"
        reliability_diagram({source: by_source[source]}, staging / image, f"Reliability: {source}")
        images.append(image)
        sources.append(
            {
                "source": source,
                "image": image,
                "months": [
                    {
                        "month": r["month"],
                        "n_outcomes": int(r["n_outcomes"]),
                        "hit_rate": _fmt(r["hit_rate"], pct=True),
                        "brier": _fmt(r["brier"], digits=3),
                        "reliability": _fmt(r["reliability"], digits=3),
                        "resolution": _fmt(r["resolution"], digits=3),
                        "uncertainty": _fmt(r["uncertainty"], digits=3),
                        "ece": _fmt(r["ece"], digits=3),
                    }
                    for r in rows.to_dict("records")
                ],
                "bins": [
                    {
                        "bin": f"{b['bin_low']:.1f}–{b['bin_low'] + 0.1:.1f}",
                        "n": int(b["n"]),
                        "probability": _fmt(b["probability"]),
                        "hit_rate": _fmt(b["hit_rate"], pct=True),
                        "interval": f"{100 * b['low']:.0f}–{100 * b['high']:.0f}%",
                    }
                    for b in by_source[source].to_dict("records")
                ],
            }
        )
    (staging / "calibration.html").write_text(
        env.get_template("calibration.html").render(sources=sources, images=images),
        encoding="utf-8",
    )
    return images


def build_site(data: SiteData, out_dir: Path) -> dict:
    """Build the site into `out_dir` (replaced atomically); returns what was written."""
    env = _env()
    staging = out_dir.with_name(out_dir.name + ".building")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "posts").mkdir(parents=True)
    (staging / "img").mkdir()

    posts = data.posts.sort_values("cycle_ts", ascending=False)
    if "kind" not in posts.columns or posts["kind"].isna().any():
        posts = posts.assign(kind=[_kind(p) for p in posts.to_dict("records")])
    chain = data.seals if data.seals is not None else pd.DataFrame(columns=["seq", "cycle_key"])
    latest_seal = {
        r["cycle_key"]: r
        for r in chain.sort_values("seq")
        .drop_duplicates("cycle_key", keep="last")
        .to_dict("records")
    }
    memos = data.memos or {}
    position_of = _positions(data)
    for post in posts.to_dict("records"):
        try:
            memo, rest = split_post(post["markdown"])
        except ValueError:  # not in the seeds' layout (no check would have passed it)
            memo, rest = post["markdown"], ""
        # The memo as sealed, in a block carrying its seal (publish/sealed_pages.py: `verify`
        # re-renders it from the record); after it the permanent link and the outcome, whose
        # marker is for readers of the Markdown file (on the page, a rule).
        key = post["cycle_key"]
        block = sealed_block(key, latest_seal.get(key), memos.get(key, memo))
        rest = _page_permalink(rest.replace(OUTCOME_MARKER, "---"), post["slug"])
        html = env.get_template("post.html").render(
            post=post,
            position=position_of(key),
            body=block + "\n" + markdown_to_html(rest),
            provenance=markdown_to_html(
                post["provenance"] if isinstance(post.get("provenance"), str) else ""
            ),
        )
        (staging / "posts" / f"{post['slug']}.html").write_text(html, encoding="utf-8")

    record = data.track_record
    overall = (
        record[(record["timeframe_bucket"] == "all") & (record["subject_kind"] == "all")]
        if len(record)
        else record
    )
    per_mind = overall[overall["regime"] == "all"] if len(overall) else overall
    per_regime = overall[overall["regime"] != "all"] if len(overall) else overall
    images = []
    scored = data.scores[data.scores["status"] == "scored"] if len(data.scores) else data.scores
    outcomes = report.outcomes(data.scores)
    images += _calibration_page(env, staging, outcomes)
    images += _variants_page(env, staging, data.comparisons or [])
    images += _portfolio_page(env, staging, data)
    if len(scored):
        running_scores(scored, staging / "img" / "running.png")
        images.append("img/running.png")
    rules = []
    for rule in data.rules.to_dict("records") if len(data.rules) else []:
        kind = scored[
            (scored["source"] == rule["source"])
            & (scored["timeframe_bucket"] == rule["timeframe_bucket"])
            & (scored["subject_kind"] == rule["subject_kind"])
        ]
        evidence = kind.sort_values("known_at", ascending=False).head(EVIDENCE_ROWS)
        rules.append({**rule, "evidence": evidence.to_dict("records")})
    base = (
        record["base_rate"].dropna().iloc[0]
        if len(record) and record["base_rate"].notna().any()
        else None
    )
    (staging / "scoreboard.html").write_text(
        env.get_template("scoreboard.html").render(
            per_mind=_table_rows(per_mind),
            per_regime=_table_rows(per_regime),
            images=images,
            rules=rules,
            base_rate=_fmt(base, pct=True),
            small_n=SMALL_N,
            n_scored=len(scored),
            floor_note=verdicts.FLOOR_NOTE,
        ),
        encoding="utf-8",
    )
    head = record_head.head_of(chain)
    (staging / "index.html").write_text(
        env.get_template("index.html").render(
            posts=posts.to_dict("records"), head=head, images=images
        ),
        encoding="utf-8",
    )
    (staging / "style.css").write_text(
        css_root() + (TEMPLATES / "style.css").read_text(), encoding="utf-8"
    )
    _write_record(staging / "record", data.seals, memos, data.public_keys or {}, data.signer)

    if out_dir.exists():
        old = out_dir.with_name(out_dir.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old)
    else:
        staging.rename(out_dir)
    return {"posts": len(posts), "images": images, "rules": len(rules)}


def _positions(data: SiteData):
    """cycle key -> the sentence on the synthesis's position for that cycle's post."""
    from ..portfolio.position_words import position_words

    positions = data.paper_positions
    if positions is None or positions.empty:
        return lambda key: ""
    mine = positions[positions["source"] == "synthesis"]
    rows = {r["cycle_key"]: r for r in mine.to_dict("records")}
    scores = data.scores
    restated = {}
    if len(scores) and "restates" in scores:
        synthesis = scores[(scores["source"] == "synthesis") & scores["restates"].notna()]
        restated = dict(zip(synthesis["cycle_key"], synthesis["restates"], strict=True))

    def words(key: str) -> str:
        if key in restated:
            return position_words(rows.get(restated[key]), restated[key])
        return position_words(rows.get(key))

    return words


def _portfolio_page(env, staging: Path, data: SiteData) -> list[str]:
    """portfolio.html: every paper portfolio's equity and drawdown, and the metrics table with
    the Sharpe difference against buy-and-hold and its interval read in words."""
    from ..portfolio.every_source import BENCHMARKS
    from ..portfolio.performance import MIN_SESSIONS
    from ..portfolio.rules import PortfolioRules
    from .charts import equity_curves

    rules = data.portfolio_rules or PortfolioRules()
    marks, table = data.paper_equity, data.paper_performance
    images, rows, days, deflated, tries = [], [], 0, "—", 0
    if marks is not None and len(marks) and table is not None and len(table):
        equity_curves(marks, staging / "img" / "portfolio.png")
        images.append("img/portfolio.png")
        for r in table.to_dict("records"):
            rows.append(_portfolio_row(r, BENCHMARKS))
        days = int(table["days"].max())
        sources = table[~table["source"].isin(BENCHMARKS)]
        tries = len(sources)
        if len(sources) and sources["sharpe"].notna().any():
            best = sources.loc[sources["sharpe"].astype(float).idxmax()]
            if best["deflated_sharpe"] is not None and not pd.isna(best["deflated_sharpe"]):
                deflated = f"{best['source']}, {float(best['deflated_sharpe']):.2f}"
    (staging / "portfolio.html").write_text(
        env.get_template("portfolio.html").render(
            rules=rules,
            image=images[0] if images else None,
            rows=rows,
            days=days,
            tries=tries,
            deflated=deflated,
            min_sessions=MIN_SESSIONS,
        ),
        encoding="utf-8",
    )
    return images


def _portfolio_row(r: dict, benchmarks: tuple[str, ...]) -> dict:
    from ..portfolio.performance import sharpe_words

    def pct(v, digits=2):
        return "—" if v is None or pd.isna(v) else f"{v:+.{digits}f}%"

    def num(v):
        return "—" if v is None or pd.isna(v) else f"{v:.2f}"

    low, high, diff = (
        r.get("sharpe_vs_benchmark_low"),
        r.get("sharpe_vs_benchmark_high"),
        r.get("sharpe_vs_benchmark"),
    )
    has_interval = low is not None and not pd.isna(low)
    if not has_interval:
        verdict = "the benchmark" if r["source"] == "buy_and_hold" else "too few sessions to judge"
    else:
        verdict = sharpe_words(low, high, "holding it")
    drawdown = r.get("max_drawdown_pct")
    return {
        "source": r["source"],
        "kind": "benchmark" if r["source"] in benchmarks else "source",
        "positions": int(r.get("positions") or 0),
        "total_return": pct(r.get("total_return_pct")),
        "annual_return": pct(r.get("annual_return_pct"), 1),
        "volatility": pct(r.get("annual_volatility_pct"), 1).lstrip("+"),
        "sharpe": num(r.get("sharpe")),
        "sortino": num(r.get("sortino")),
        "drawdown": "—"
        if drawdown is None or pd.isna(drawdown)
        else f"{drawdown:.2f}% ({int(r.get('drawdown_days') or 0)})",
        "costs": f"${float(r.get('costs') or 0):,.2f}",
        "hit_rate": "—"
        if r.get("hit_rate") is None or pd.isna(r.get("hit_rate"))
        else f"{100 * r['hit_rate']:.0f}%",
        "difference": f"{diff:+.2f} [{low:+.2f}, {high:+.2f}]" if has_interval else "—",
        "verdict": verdict,
    }


def _kind(post: dict) -> str:
    """What a post's cycle did, for posts written before they said it (from the call shown)."""
    kind = post.get("kind")
    if isinstance(kind, str):
        return kind
    text = str(post.get("call_text") or "")
    if text in ("abstained", "unparseable"):
        return "abstention" if text == "abstained" else "unparseable"
    return "restatement" if text.endswith(", restated") else "call"


def _write_record(
    folder: Path,
    seals: pd.DataFrame | None,
    memos: dict[str, str],
    keys: dict[str, str],
    signer: Signer | None,
) -> None:
    """`record/record.jsonl` (the seal chain, a row a line, with its signatures), its head
    (`record/head.json`, signed with the record's key when there is one), each sealed cycle's
    memo byte for byte (`record/memos/<cycle>.txt`: plain text, so the headlines and model
    text a memo quotes stay text whatever reads the file) and the public keys that signed
    (`record/public_keys.json`), for anyone to verify."""
    import json

    from .posts import post_slug

    (folder / "memos").mkdir(parents=True)
    rows = [] if seals is None else seals.sort_values("seq").to_dict("records")

    def clean(k, v):
        if k == "seq":
            return int(v)
        return None if v is None or (isinstance(v, float) and pd.isna(v)) else v

    lines = [json.dumps({k: clean(k, v) for k, v in r.items()}) for r in rows]
    if keys:
        (folder / "public_keys.json").write_text(
            json.dumps(keys, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    (folder / "record.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    head = record_head.head_of(seals) if seals is not None else None
    if head is not None:
        (folder / "head.json").write_text(head.signed(signer).to_json(), encoding="utf-8")
    for key in {r["cycle_key"] for r in rows}:
        if key in memos:
            (folder / "memos" / f"{post_slug(key)}.txt").write_text(memos[key], encoding="utf-8")
