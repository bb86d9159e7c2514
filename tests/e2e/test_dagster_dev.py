"""The real webserver and daemon: a cycle launched over GraphQL, a partition backfill, the
scoring sensor firing on its own, and the UI driven by a headless Chromium."""

import re

import pytest

from tests.e2e.browser import browser_page, screenshot
from tests.e2e.dagster_dev import running_dagster_dev, temporary_workshop_env, wait_for
from workshop_dagster.store import warehouse

pytestmark = pytest.mark.e2e
CYCLE = "2026-03-30-19:15"
BACKFILL = ["2026-03-31-09:15", "2026-03-31-19:15"]
UI_CYCLE = "2026-03-26-19:15"
GROUPS = {
    "market": ["market_bars", "macro_rates", "news_items", "cycle_features", "regime_labels"],
    "minds": ["mind_context", "mind_opinions", "debate", "memo", "llm_calls"],
    "predictions": ["predictions", "prediction_scores", "lessons"],
    "track_record": ["track_record", "calibration", "rules"],
    "publish": ["posts", "site"],
}
VARIANT_GROUPS = {
    "variant_placebo": [f"placebo / {a}" for a in ("mind_context", "memo", "predictions")]
    + ["placebo / track_record"],
    "variant_no_feedback": ["no_feedback / predictions"],
    "variants": ["variant_comparison"],
}
SENSOR_RUNS = """query {
  runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "scoring_sensor"}]}) {
    ... on Runs { results { runId status endTime tags { key value } } } } }"""
LATEST_MATERIALIZATION = """query($key: AssetKeyInput!) { assetOrError(assetKey: $key) {
  ... on Asset { assetMaterializations(limit: 1) { timestamp runId } } } }"""
RUN_TAGS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }"""
ALL_RUNS = """query { runsOrError { ... on Runs { results { jobName status startTime endTime
  tags { key value } } } } }"""


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    """One `dagster dev` for the module (starting it costs ~20 s), run as a Dagster user first
    runs it: in the project folder, with no DAGSTER_HOME."""
    env = temporary_workshop_env(
        tmp_path_factory.mktemp("dagster_dev"), extra={"WORKSHOP_SCORING_INTERVAL_S": "10"}
    )
    with running_dagster_dev(env, dagster_home=False) as dev:
        yield dev


def _memo_keys(db: str) -> set[str]:
    with warehouse.connect(db, transaction=False) as conn:
        return {k for (k,) in conn.execute("select cycle_key from memo").fetchall()}


def test_cycle_backfill_and_sensor_through_the_real_processes(dev):
    # 1. A cycle launched through GraphQL, as the UI does.
    assert dev.wait_for_run(dev.launch_cycle(CYCLE)) == "SUCCESS"

    # 2. A partition backfill of two cycles, launched by the daemon (a run per partition; the
    # backfill's own status is checked at the end, once the daemon has ticked again).
    backfill = dev.launch_backfill(BACKFILL)
    assert len(dev.wait_for_backfill_runs(backfill, len(BACKFILL))) == len(BACKFILL)
    assert {CYCLE, *BACKFILL} <= _memo_keys(dev.env["WORKSHOP_DB"])

    # 2b. A side variant backfilled over two of those cycles from the UI's selection: one run
    # (a range is a single run), its own rows, the market untouched. Launched now, checked at
    # the end: the daemon's backfill ticks overlap the sensors' steps below.
    from workshop_dagster.lib.variant_jobs import PER_CYCLE_ASSETS

    span = [CYCLE, BACKFILL[0]]
    variant_backfill = dev.launch_asset_backfill([["placebo", a] for a in PER_CYCLE_ASSETS], span)

    # 3. Scores go missing for a cycle whose calls have matured: the sensor notices and scores.
    with warehouse.connect(dev.env["WORKSHOP_DB"]) as conn:
        conn.execute("delete from prediction_scores where cycle_key = ?", [CYCLE])

    def sensor_run_for_cycle():
        runs = dev.query(SENSOR_RUNS)["runsOrError"]["results"]
        return [
            r
            for r in runs
            if r["status"] == "SUCCESS"
            and {"key": "dagster/partition", "value": CYCLE} in r["tags"]
        ]

    wait_for(sensor_run_for_cycle, 240, f"the scoring sensor's run for {CYCLE}", every=3)
    # Through the warehouse's lock, as every writer: the variant's backfill may be writing.
    with warehouse.connect(dev.env["WORKSHOP_DB"], transaction=False) as conn:
        n = conn.execute(
            "select count(*) from prediction_scores where cycle_key = ? and status = 'scored'",
            [CYCLE],
        ).fetchone()[0]
    assert n >= 1

    # 4. The new scores rebuild the track record and the site with no manual run: the rollups
    # sensor is on by default.
    ended = max(float(r["endTime"]) for r in sensor_run_for_cycle() if r.get("endTime"))

    def rebuilt_after_scoring(asset: str):
        found = dev.query(LATEST_MATERIALIZATION, {"key": {"path": [asset]}})["assetOrError"]
        mats = found.get("assetMaterializations") or []
        if not mats or float(mats[0]["timestamp"]) / 1000 < ended:
            return None
        run = dev.query(RUN_TAGS, {"id": mats[0]["runId"]})["runOrError"]
        return {t["key"]: t["value"] for t in run["tags"]}

    for asset in ("track_record", "site"):
        try:
            tags = wait_for(
                lambda asset=asset: rebuilt_after_scoring(asset), 180, f"{asset} rebuilt", every=3
            )
        except AssertionError as missed:  # say what the runs were doing (a loaded machine?)
            runs = dev.query(ALL_RUNS)["runsOrError"]["results"]
            seen = [
                (r["jobName"], r["status"], r["startTime"], r["endTime"], _sensor(r)) for r in runs
            ]
            raise AssertionError(f"{missed}; scoring ended {ended}; runs: {seen}") from None
        assert tags.get("dagster/sensor_name") == "rollups_sensor", tags

    # 2 and 2b, checked.
    assert dev.wait_for_backfill(backfill) in ("COMPLETED", "COMPLETED_SUCCESS")
    assert len(dev.wait_for_backfill_runs(variant_backfill, 1)) == 1
    assert dev.wait_for_backfill(variant_backfill) in ("COMPLETED", "COMPLETED_SUCCESS")
    with warehouse.connect(dev.env["WORKSHOP_DB"], transaction=False) as conn:
        variant = {k for (k,) in conn.execute("select cycle_key from placebo.memo").fetchall()}
        bars = conn.execute("select count(*) from market_bars").fetchone()[0]
    assert variant == set(span) and bars == 17 * len({CYCLE, *BACKFILL})


def _sensor(run: dict) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == "dagster/sensor_name"), None)


def _skip_community_dialog(page) -> None:
    """The first visit of a fresh instance asks to join the community; a user presses Skip."""
    skip = page.get_by_role("button", name="Skip", exact=True)
    try:
        skip.wait_for(state="visible", timeout=5000)
    except Exception:  # noqa: BLE001 - the dialog is shown once per instance, not always
        return
    skip.click()


def test_the_ui_shows_every_group_and_materializes_a_cycle(dev):
    with browser_page(width=1600, height=1200) as page:
        # The global lineage: every group, the side variants' included (the graph of all their
        # assets expanded no longer fits a screen, and the graph draws only what is on it).
        page.goto(f"{dev.url}/asset-groups", wait_until="networkidle")
        _skip_community_dialog(page)
        for group in [*GROUPS, *VARIANT_GROUPS]:
            node = page.get_by_text(group, exact=True)
            wait_for(
                lambda node=node: any(node.nth(i).is_visible() for i in range(node.count())),
                20,
                f"group {group} in the lineage graph",
                every=0.5,
            )
        screenshot(page, "dagster-ui-lineage.png")
        # Each group's assets, in its list (a side variant's under its name: "placebo / memo").
        for group, assets in {**GROUPS, **VARIANT_GROUPS}.items():
            page.goto(f"{dev.url}/locations/workshop/asset-groups/{group}/list")
            for asset in assets:
                page.get_by_text(asset, exact=True).first.wait_for(state="visible", timeout=30000)

        # One cycle materialized from the job page, as a user would: Materialize all, pick
        # the cycle among all partitions, launch, open the run and watch it succeed.
        page.goto(f"{dev.url}/locations/workshop/jobs/cycle", wait_until="networkidle")
        page.get_by_role("button", name="Materialize all…").click()
        dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
        dialog.get_by_role("button", name=re.compile("Last 90 days|All time")).click()
        page.get_by_role("menuitem", name="All time").click()
        partitions = dialog.get_by_role("textbox").first
        partitions.fill(UI_CYCLE)
        partitions.press("Enter")
        dialog.get_by_role("button", name="Launch 1 run").click()
        page.get_by_role("link", name="View", exact=True).click()
        page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"), timeout=30000)
        run_id = page.url.rstrip("/").split("/runs/")[1].split("?")[0]
        assert dev.wait_for_run(run_id) == "SUCCESS"
        page.reload(wait_until="networkidle")
        page.get_by_text("Success", exact=True).first.wait_for(timeout=30000)
        page.get_by_text(UI_CYCLE).first.wait_for(timeout=30000)
        screenshot(page, "dagster-ui-cycle-run.png")
    assert UI_CYCLE in _memo_keys(dev.env["WORKSHOP_DB"])
