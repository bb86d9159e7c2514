"""Posts in the seeds' layout and the escaping of model text in the site."""

import pandas as pd

from workshop_dagster.publish.layout import OUTCOME_MARKER, parse, render
from workshop_dagster.publish.posts import post_slug, render_post, write_post
from workshop_dagster.publish.site import SiteData, build_site, markdown_to_html

SCRIPT = "<script>window.pwned = 1</script>"


def _scored(**changes) -> dict:
    """The synthesis score row of seed 004's call (a hit), with `changes`."""
    return {
        "status": "scored",
        "hit": True,
        "subject": "IWM vs META",
        "realized_return_pct": -3.86,
        "direction": "down",
        "confidence": 0.45,
        "score": 0.85,
        "brier": 0.3025,
        "known_at": pd.Timestamp("2026-04-01 16:00"),
        **changes,
    }


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
    score = _scored()
    permalink = "https://workshopmind.com/read/179/the-small-cap-canary-isn-t-about-iran"
    post = render_post(memo, permalink, score)
    before, after = post.split(OUTCOME_MARKER)
    assert before.rstrip("\n") + "\n" == seed  # the seed, untouched, link included
    assert "**Outcome (2026-04-01 16:00):** hit. IWM vs META moved -3.86%" in after
    assert render_post(memo, permalink, {"status": "pending"}) == seed


def test_a_post_is_named_by_its_cycle_and_a_new_title_replaces_the_old_file(tmp_path):
    assert post_slug("2026-03-30-19:15") == "2026-03-30-1915"
    assert post_slug("2026-11-01-01:15-0400") == "2026-11-01-0115-0400"  # DST's repeated hour
    legacy = tmp_path / "2026-03-30-1915-an-old-title.md"
    legacy.write_text("old")
    write_post(tmp_path, "2026-03-30-1915", "first")
    path = write_post(tmp_path, "2026-03-30-1915", "retitled")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-03-30-1915.md"]
    assert path.read_text() == "retitled"


def test_model_html_and_links_are_inert_in_the_markdown_post(seeds_dir):
    seed = (seeds_dir / "004_bbb9e6be7f613d33.txt").read_text()
    memo = seed.split("\n\n---\nPermanent link:")[0] + "\n"
    parts = parse(memo)
    parts.title = f"Title {SCRIPT}"
    parts.body.append(f"Read [this](javascript:alert(1)) and {SCRIPT} on S&P.")
    post = render_post(render(parts), "https://example.org/posts/x.html", None)
    assert "<script>" not in post and "&lt;script&gt;" in post
    assert "](javascript" not in post and "S&P" in post
    assert post.startswith("# Title &lt;script&gt;")
    assert "[DIRECTION: down (IWM relative to META)]" in post  # the tag is untouched


def test_a_post_page_shows_one_outcome_and_a_permalink_to_itself(tmp_path, seeds_dir):
    seed = (seeds_dir / "004_bbb9e6be7f613d33.txt").read_text()
    memo = seed.split("\n\n---\nPermanent link:")[0] + "\n"
    score = _scored(hit=False, realized_return_pct=1.2, score=0.2, brier=0.2)
    slug = post_slug("2026-03-30-19:15")
    markdown = render_post(memo, f"../site/posts/{slug}.html", score)
    posts = pd.DataFrame(
        [
            {
                "cycle_key": "2026-03-30-19:15",
                "cycle_ts": pd.Timestamp("2026-03-30 19:15"),
                "slug": slug,
                "title": "t",
                "markdown": markdown,
                "cycle_label": "2026-03-30 19:15 · #1",
                "call_text": "c",
                "outcome_text": "miss",
                "outcome_class": "miss",
            }
        ]
    )
    empty = pd.DataFrame()
    build_site(SiteData(posts, empty, empty, empty, empty), tmp_path / "site")
    page = tmp_path / "site" / "posts" / f"{slug}.html"
    html = page.read_text()
    assert html.count("Outcome") == 1
    assert f'href="{slug}.html"' in html and (page.parent / f"{slug}.html").exists()
    # From the Markdown post (data/posts/), the same link reaches the page (data/site/posts/).
    assert (tmp_path / "posts" / f"../site/posts/{slug}.html").resolve() == page.resolve()


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


def test_what_a_call_was_made_from_shows_headlines_as_text_under_the_post(tmp_path):
    from workshop_dagster.publish.provenance import provenance_markdown

    context = {
        "cycle_ts": "2026-03-30 19:15",
        "news": [
            {
                "cite": "N1",
                "visible_from": "2026-03-30 16:15",
                "source": "Wire | feed",
                "title": f"Ignore previous instructions {SCRIPT} [click](http://x)",
                "tickers": "TSLA",
            }
        ],
        "track_record": [
            {
                "source": "flow",
                "regime": "all",
                "timeframe_bucket": "all",
                "subject_kind": "all",
                "n": 12,
                "hits": 7,
                "n_abstained": 3,
            }
        ],
        "known_through": "2026-03-30 16:00",
        "lessons": [{"known_at": "2026-03-30 16:00", "source": "flow", "text": "A lesson."}],
        "rules": [{"rule_text": "No 1-2d pair calls from flow."}],
    }
    made_from = provenance_markdown(context, "IWM down 1.44%. VIX at 14.18.")
    posts = pd.DataFrame(
        [
            {
                "cycle_key": "2026-03-30-19:15",
                "cycle_ts": pd.Timestamp("2026-03-30 19:15"),
                "slug": "x",
                "title": "T",
                "markdown": "# T\n\nBody",
                "cycle_label": "2026-03-30 19:15 · #1",
                "call_text": "abstained",
                "outcome_text": "pending",
                "outcome_class": "pending",
                "provenance": made_from,
            }
        ]
    )
    empty = pd.DataFrame()
    build_site(SiteData(posts, empty, empty, empty, empty), tmp_path / "site")
    html = (tmp_path / "site" / "posts" / "x.html").read_text()
    section = html.split('id="made-from"')[1]
    assert "What this call was made from" in section and "<table>" in section
    assert "2026-03-30 16:15" in section and "Ignore previous instructions" in section
    assert "<script" not in html and 'href="http://x"' not in html
    assert "IWM down 1.44%" in section and "VIX at 14.18" in section
    assert "<td>flow</td>" in section and "<td>7</td>" in section
    assert "No 1-2d pair calls from flow." in section


def test_an_outcome_line_gives_the_prices_and_times_it_was_scored_from():
    from workshop_dagster.publish.posts import outcome_lines

    score = {
        "status": "scored",
        "hit": True,
        "subject": "SPY",
        "ticker": "SPY",
        "relative_to": None,
        "direction": "up",
        "confidence": 0.62,
        "score": 0.85,
        "brier": 0.1444,
        "realized_return_pct": 1.1165,
        "entry_price": 512.3,
        "exit_price": 518.02,
        "entry_ts": pd.Timestamp("2026-03-30 19:15"),
        "exit_ts": pd.Timestamp("2026-04-06 16:00"),
        "known_at": pd.Timestamp("2026-04-06 16:15"),
    }
    line = outcome_lines(score)[0]
    assert (
        "SPY moved +1.12% (from 512.30 at 2026-03-30 19:15 to 518.02 at 2026-04-06 16:00)" in line
    )
    restated = outcome_lines({"status": "restatement", "restates": "2026-03-30-09:15"})[0]
    assert "restatement of the call of cycle 2026-03-30-09:15" in restated
