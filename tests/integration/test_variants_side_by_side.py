"""Side variants in one warehouse: the market computed once, each variant's calls, record and
seals its own (defs/variants/)."""

import json

import dagster as dg
import pytest

from tests.integration.helpers import failure_text, materialize, query, writable
from workshop_dagster.config.settings import load_settings
from workshop_dagster.resources import build_resources

PAPER = ("paper_positions", "paper_equity", "paper_performance")

LOOP = dg.AssetSelection.groups("market", "minds", "predictions")
CYCLES = ["2026-03-02-09:15", "2026-03-02-12:15", "2026-03-02-19:15", "2026-03-03-09:15"]
MARKET_TABLES = ("market_bars", "market_quotes", "cycle_features", "regime_labels", "macro_rates")


def _variant_run(variant: str, keys=CYCLES, **kwargs):
    from workshop_dagster.lib.variant_jobs import PER_CYCLE_ASSETS
    from workshop_dagster.lib.variant_jobs import keys as keys_of

    selection = dg.AssetSelection.assets(*keys_of(variant, PER_CYCLE_ASSETS))
    return materialize(keys, selection=selection, **kwargs)


def _counts(schema: str, tables) -> dict[str, int]:
    return {t: int(query(f"select count(*) n from {schema}.{t}")["n"][0]) for t in tables}


@pytest.mark.usefixtures("workshop_env")
def test_two_variants_share_the_market_rows_and_keep_their_own_calls_records_and_seals():
    from workshop_dagster.definitions import defs
    from workshop_dagster.defs.predictions.scoring_sensor import due_cycles

    assert materialize(CYCLES, selection=LOOP | dg.AssetSelection.assets("posts")).success
    market_before = _counts("main", MARKET_TABLES)
    main_before = _counts("main", ("predictions", "record_seals", "memo"))

    # A variant before the market of its cycles exists: refused, naming what to run first.
    early = _variant_run("no_feedback", ["2026-03-04-09:15"], raise_on_error=False)
    assert not early.success
    assert "no market features" in failure_text(early) and "`cycle` job" in failure_text(early)

    runs = {v: _variant_run(v) for v in ("no_feedback", "placebo")}
    for variant, result in runs.items():
        assert result.success, failure_text(result)
        written = {e.asset_key for e in result.get_asset_materialization_events()}
        # Only the variant's own assets: not one market or feature materialization.
        assert written and all(k.path[0] == variant for k in written), written
        checks = result.get_asset_check_evaluations()
        assert {c.asset_key.path[0] for c in checks} == {variant}
        assert any(c.check_name == "predictions_are_valid" and c.passed for c in checks)
    assert _counts("main", MARKET_TABLES) == market_before, "the market was computed once"
    assert _counts("main", ("predictions", "record_seals", "memo")) == main_before

    for variant in ("no_feedback", "placebo"):
        own = _counts(variant, ("memo", "record_seals", "prediction_scores"))
        assert own["memo"] == len(CYCLES) and own["record_seals"] == len(CYCLES), own
        # Each variant's chain is its own, and each seal covers that variant's memo.
        seals = query(f"select cycle_key, content_json from {variant}.record_seals order by seq")
        memos = query(f"select cycle_key, body from {variant}.memo")
        from workshop_dagster.predictions.seals import memo_hash

        for key, content in zip(seals["cycle_key"], seals["content_json"], strict=True):
            body = memos.loc[memos["cycle_key"] == key, "body"].iloc[0]
            assert json.loads(content)["memo_sha256"] == memo_hash(body)
    # no_feedback was shown no rule and no lesson; the loop itself kept its own record.
    shown = query("select context_json from no_feedback.mind_context")["context_json"]
    assert all(not json.loads(doc).get("lessons") for doc in shown)
    assert query("select max(n_rules) m from no_feedback.mind_context")["m"][0] == 0

    # Run again: same rows, no duplicates, no new seal (the same content).
    assert _variant_run("no_feedback").success
    assert _counts("no_feedback", ("memo", "record_seals")) == {
        "memo": len(CYCLES),
        "record_seals": len(CYCLES),
    }
    assert (
        query(
            "select count(*) n from (select cycle_key, source from no_feedback.predictions "
            "group by all having count(*) > 1)"
        )["n"][0]
        == 0
    )

    # Each variant's record from its own scores, and the comparison with the loop.
    rollups = dg.AssetSelection.assets(
        *[dg.AssetKey([v, t]) for v in ("no_feedback", "placebo") for t in ("track_record",)],
        dg.AssetKey(["no_feedback", "calibration"]),
        dg.AssetKey(["no_feedback", "rules"]),
        *[dg.AssetKey([v, t]) for v in ("no_feedback", "placebo") for t in PAPER],
        "variant_comparison",
        *("track_record", "calibration", "rules", "site"),
        *PAPER,
    )
    result = materialize(None, selection=rollups)
    assert result.success, failure_text(result)
    # Each variant's paper portfolios from its own calls, in its own schema, checks passed.
    checks = result.get_asset_check_evaluations()
    assert sum(c.passed for c in checks if c.check_name == "gross_never_above_the_cap") == 3
    for v in ("no_feedback", "placebo"):
        own = query(
            f"select distinct cycle_key from {v}.paper_positions where source = 'synthesis'"
        )
        calls = query(
            f"select distinct cycle_key from {v}.predictions where source = 'synthesis' "
            "and parse_status = 'parsed' and restates is null"
        )
        assert set(own["cycle_key"]) == set(calls["cycle_key"]), v
    mine = query(
        "select sum(n) n from no_feedback.track_record where regime = 'all' "
        "and timeframe_bucket = 'all' and subject_kind = 'all'"
    )["n"][0]
    scored = query("select count(*) n from no_feedback.prediction_scores where status = 'scored'")
    assert mine == scored["n"][0]
    table = query("select * from variant_comparison")
    assert set(table["b"]) <= {"no_feedback", "placebo"} and set(table["a"]) == {"baseline"}
    meta = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("variant_comparison")
    ][0]
    assert "baseline against no_feedback" in meta["comparison"].value
    # The site's Variants page shows the pairs run here, beside any `make compare` walks.
    page = (load_settings().data_dir / "site" / "variants.html").read_text()
    assert "baseline against placebo (the cycles both ran here)" in page

    # `make verify` checks each variant's chain on its own: a hand edit names its variant.
    from workshop_dagster.commands.verify import variant_records, verify_warehouse

    db = load_settings().database
    assert variant_records(db) == ["no_feedback", "placebo"]
    assert verify_warehouse(db, schema="placebo") == []
    with writable() as conn:
        conn.execute(
            "update placebo.memo set body = body || ' (edited)' where cycle_key = ?", [CYCLES[1]]
        )
    (problem,) = verify_warehouse(db, schema="placebo")
    assert CYCLES[1] in problem and "memo" in problem
    assert verify_warehouse(db) == [] and verify_warehouse(db, schema="no_feedback") == []

    # The scoring sensor asks each variant's own score job for its matured, unscored calls.
    with writable() as conn:
        conn.execute("delete from placebo.prediction_scores")
    import pandas as pd

    now = pd.Timestamp("2026-11-26 12:00")
    assert due_cycles(str(load_settings().database), now, "placebo")
    assert not due_cycles(str(load_settings().database), now, "no_feedback")
    sensor = defs.resolve_sensor_def("scoring_sensor")
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.get(),
        resources={"warehouse": build_resources(load_settings())["warehouse"]},
        repository_def=defs.get_repository_def(),
    )
    requests = sensor.evaluate_tick(context).run_requests
    assert requests and {r.job_name for r in requests} == {"placebo_score"}, requests
    assert all(r.run_key.startswith("score:placebo:") for r in requests)
    # The rollups sensor asks for a variant's rollups when its scores are newer than its record
    # (placebo's calibration and rules were never built; the loop and no_feedback are current).
    rollups = defs.resolve_sensor_def("rollups_sensor")
    asked = rollups.evaluate_tick(
        dg.build_sensor_context(
            instance=dg.DagsterInstance.get(), repository_def=defs.get_repository_def()
        )
    ).run_requests
    assert {r.job_name for r in asked} == {"placebo_rollups"}, asked


@pytest.mark.usefixtures("workshop_env")
def test_a_variants_record_before_its_cycles_ran_names_the_job_to_run():
    result = materialize(
        None,
        selection=dg.AssetSelection.assets(dg.AssetKey(["placebo", "track_record"])),
        raise_on_error=False,
    )
    assert not result.success
    assert "placebo.prediction_scores, which does not exist yet" in failure_text(result)
    assert "`placebo_cycle` job" in failure_text(result)
