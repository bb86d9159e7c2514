"""The scoreboard site built from a backfilled range offline, opened in a real browser."""

import re
from pathlib import Path

import dagster as dg
import pytest

from tests.e2e.browser import browser_page, screenshot
from tests.integration.helpers import materialize
from workshop_dagster.minds.engine import OfflineEngine
from workshop_dagster.publish.layout import parse, render

pytestmark = pytest.mark.e2e
SCRIPT = "<script>window.pwned = 1</script>"


class InjectingLLM(dg.ConfigurableResource):
    """Offline minds whose memos quote a hostile headline, as a model might."""

    def engine(self):
        class Injecting(OfflineEngine):
            name = "injecting"

            def synthesize(self, context, opinions, debate):
                memo = super().synthesize(context, opinions, debate)
                parts = parse(memo.body)
                parts.body.append(f"A headline I can't verify: {SCRIPT}")
                memo.body = render(parts)
                return memo

        return Injecting()


@pytest.fixture
def built_site(workshop_env):
    from workshop_dagster.definitions import PARTITIONS

    keys = PARTITIONS.get_partition_keys()
    start = keys.index("2026-02-02-09:15")
    cycles = keys[start : start + 24]
    selection = dg.AssetSelection.groups(
        "market", "minds", "predictions"
    ) | dg.AssetSelection.assets("posts")
    assert materialize(cycles, selection=selection, llm=InjectingLLM()).success
    rollups = dg.AssetSelection.groups("track_record") | dg.AssetSelection.assets("site")
    assert materialize(None, selection=rollups).success
    return Path(workshop_env["WORKSHOP_DATA_DIR"]) / "site"


def test_posts_with_news_show_their_headlines_under_the_post(built_site):
    pages = sorted((built_site / "posts").glob("*.html"))
    with_news = [p for p in pages if "<th>visible from</th>" in p.read_text()]
    assert with_news, "the simulator's news of these two weeks reaches some post"
    for page in with_news:
        html = page.read_text()
        cycle = re.search(r"at (\d{4}-\d\d-\d\d \d\d:\d\d) \(New York\)", html).group(1)
        table = html.split("<th>visible from</th>")[1].split("</table>")[0]
        times = re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>", table)
        assert times and max(times) <= cycle, page.name


def test_every_link_resolves_and_every_image_exists(built_site):
    pages = list(built_site.rglob("*.html"))
    # The posts, the index, the scoreboard, the calibration report, the variants and portfolio
    # pages.
    assert len(pages) == 24 + 5
    for page in pages:
        html = page.read_text()
        for target in re.findall(r'(?:href|src)="([^"#]+)"', html):
            assert not target.startswith(("http:", "https:")), f"{page}: external {target}"
            resolved = (page.parent / target).resolve()
            assert resolved.exists(), f"{page.relative_to(built_site)} links to missing {target}"
    for post in (built_site / "posts").glob("*.html"):
        # Each post says what its call did in the paper portfolio, or why it did nothing.
        assert re.search(r'<p class="position">(Position|No position): ', post.read_text()), post
    for image in ("img/reliability.png", "img/running.png", "img/portfolio.png"):
        data = (built_site / image).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_chromium_renders_index_scoreboard_and_escapes_model_text(built_site):
    with browser_page() as page:
        page.goto((built_site / "index.html").as_uri())
        assert page.title() == "Workshop · posts"
        # The index opens on the latest new calls and their outcomes; every cycle
        # (restatements and abstentions with them) is folded below it.
        every = page.locator("details.all-cycles table.posts tbody tr")
        assert every.count() == 24
        calls = page.locator("table.latest tbody tr")
        assert 0 < calls.count() <= 12
        assert not any(
            t in ("abstained", "unparseable") or t.endswith("restated")
            for t in page.locator("table.latest td.call").all_inner_texts()
        )
        assert "new calls in 24 cycles" in page.inner_text("div.summary")
        screenshot(page, "site-index.png")

        page.locator("details.all-cycles summary").click()
        page.locator("details.all-cycles table.posts a").first.click()
        page.wait_for_load_state()
        assert SCRIPT in page.inner_text("article")  # shown as text
        assert page.evaluate("window.pwned") is None  # and never run
        assert page.locator("article script").count() == 0
        # What the call was made from, under the post: a table of the headlines with the time
        # each became visible (the simulator's news of these days), none after the cycle.
        made_from = page.locator("section#made-from")
        assert "What this call was made from" in made_from.inner_text()
        cycle = re.search(r"at (\d{4}-\d\d-\d\d \d\d:\d\d) \(New York\)", made_from.inner_text())
        assert cycle, made_from.inner_text()[:300]
        section = made_from.inner_html()
        if "<th>visible from</th>" in section:
            table = section.split("<th>visible from</th>")[1].split("</table>")[0]
            shown = re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>", table)
            assert shown and max(shown) <= cycle.group(1), (shown, cycle.group(1))
        else:
            assert "the news archive held no item" in made_from.inner_text()
        screenshot(page, "site-post.png")

        page.goto((built_site / "scoreboard.html").as_uri())
        assert page.locator("table.record").count() == 2
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        assert len(widths) == 2 and all(w > 0 for w in widths)
        screenshot(page, "site-scoreboard.png")

        page.goto((built_site / "portfolio.html").as_uri())
        rows = page.locator("table.portfolio tbody tr td:first-child").all_inner_texts()
        assert {"synthesis", "always_up", "buy_and_hold", "cash"} <= set(rows), rows
        assert page.eval_on_selector("img", "i => i.naturalWidth") > 0
        assert "Sharpe − SPY held [95%]" in page.inner_text("table.portfolio thead")
        screenshot(page, "site-portfolio.png")


PAGES = ("index.html", "scoreboard.html", "calibration.html", "portfolio.html")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_site_reads_at_a_desktops_and_a_phones_width(built_site, width):
    """One stylesheet on every page; nothing wider than the screen (a wide table scrolls
    inside itself on a phone); charts scaled to the column; the latest calls first."""
    with browser_page(width=width, height=900) as page:
        posts = sorted((built_site / "posts").glob("*.html"))
        for name in [*PAGES, f"posts/{posts[-1].name}"]:
            page.goto((built_site / name).as_uri())
            page.wait_for_load_state()
            fits = page.evaluate(
                "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
            )
            assert fits, f"{name} is wider than {width}px"
            font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
            assert "system-ui" in font, (name, font)
            ink = page.evaluate(
                "() => getComputedStyle(document.documentElement).getPropertyValue('--ink')"
            )
            assert ink.strip() == "#1f2430"
            images = page.eval_on_selector_all(
                "main img",
                "imgs => imgs.map(i => [i.naturalWidth, i.getBoundingClientRect().width])",
            )
            assert all(natural > 0 and 0 < shown <= width for natural, shown in images), images
            assert page.locator("nav a").count() >= 6
            screenshot(page, f"site-{width}-{name.replace('/', '-')}.png")
        page.goto((built_site / "index.html").as_uri())
        first = page.evaluate(
            "() => document.querySelector('main h1').nextElementSibling.className"
        )
        assert first == "summary"
        assert page.locator("table.latest").is_visible()
