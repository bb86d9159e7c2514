"""Posts in the seeds' layout and the escaping of model text in the site."""

import pandas as pd

from workshop_dagster.publish.layout import OUTCOME_MARKER, parse, render
from workshop_dagster.publish.posts import post_slug, render_post
from workshop_dagster.publish.site import SiteData, build_site, markdown_to_html

SCRIPT = "<script>window.pwned = 1</script>"


def test_post_from_seed_004_fields_reproduces_the_seed_line_for_line(seeds_dir):
    seed = (seeds_dir / "004_bbb9e6be7f613d33.txt").read_text()
    parts = parse(seed)
    assert parts.title == "The Small-Cap Canary Isn't About Iran"
    assert parts.header == "**March 30, 2026 — 7:15 PM — Cycle 280**"
    assert parts.tag_line.startswith("[DIRECTION: down (IWM relative to META)]")
    rendered = render(parts)
    assert rendered.splitlines() == seed.splitlines()
    assert rendered == seed


def test_outcome_is_appended_never_editing_the_memo(seeds_dir):
    seed = (seeds_dir / "004_bbb9e6be7f613d33.txt").read_text()
    memo = seed.split("\n\n---\nPermanent link:")[0] + "\n"
    score = {
        "status": "scored",
        "hit": True,
        "subject": "IWM vs META",
        "realized_return_pct": -3.86,
        "direction": "down",
        "confidence": 0.45,
        "score": 0.85,
        "brier": 0.3025,
        "known_at": pd.Timestamp("2026-04-01 16:00"),
    }
    permalink = "https://workshopmind.com/read/179/the-small-cap-canary-isn-t-about-iran"
    post = render_post(memo, permalink, score)
    before, after = post.split(OUTCOME_MARKER)
    assert before.rstrip("\n") + "\n" == seed  # the seed, untouched, link included
    assert "**Outcome (2026-04-01 16:00):** hit. IWM vs META moved -3.86%" in after
    assert render_post(memo, permalink, {"status": "pending"}) == seed


def test_slugs_are_safe_file_names():
    assert post_slug("2026-03-30-19:15", "The Small-Cap Canary Isn't About Iran") == (
        "2026-03-30-1915-the-small-cap-canary-isn-t-about-iran"
    )
    assert post_slug("2026-03-30-19:15", "<script>") == "2026-03-30-1915-script"


def test_model_text_is_escaped_in_html(tmp_path):
    assert "&lt;script&gt;" in markdown_to_html(f"A memo with {SCRIPT} inside")
    assert "<script>" not in markdown_to_html(f"A memo with {SCRIPT} inside")
    posts = pd.DataFrame(
        [
            {
                "cycle_key": "2026-03-30-19:15",
                "cycle_ts": pd.Timestamp("2026-03-30 19:15"),
                "slug": "x",
                "title": f"Title {SCRIPT}",
                "markdown": f"# Title {SCRIPT}\n\nBody {SCRIPT}",
                "cycle_label": "2026-03-30 19:15 · #1",
                "call_text": f"call {SCRIPT}",
                "outcome_text": "pending",
                "outcome_class": "pending",
            }
        ]
    )
    empty = pd.DataFrame()
    build_site(SiteData(posts, empty, empty, empty, empty), tmp_path / "site")
    for page in ("index.html", "posts/x.html", "scoreboard.html"):
        html = (tmp_path / "site" / page).read_text()
        assert "<script" not in html, page
    assert "&lt;script&gt;" in (tmp_path / "site" / "index.html").read_text()
