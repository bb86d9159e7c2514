"""Mind variants: the file, what each feedback setting shows the minds, and the comparison of
two variants on the same cycles."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workshop_dagster.config.settings import SettingsError, load_settings
from workshop_dagster.config.variants import VariantsFileError, load_variants
from workshop_dagster.minds.context import LESSONS_SHOWN, Feedback
from workshop_dagster.predictions.comparison import compare, diebold_mariano

T = pd.Timestamp


def test_the_built_in_variants_and_a_bad_file_named_by_its_fault(tmp_path):
    variants = load_variants()
    assert {"baseline", "no_feedback", "placebo"} <= set(variants)
    assert variants["no_feedback"].feedback == "off"
    assert variants["placebo"].feedback == "placebo"
    cases = {
        "variants:\n  baseline: {feedback: sometimes}\n": "feedback 'sometimes' is not one of",
        "variants:\n  other: {feedback: 'off'}\n": "the `baseline` variant",
        "variants:\n  baseline: {}\n  p: {feedback: placebo, placebo_offset_days: 2}\n": (
            "placebo_offset_days 2"
        ),
        "variants:\n  baseline: {colour: red}\n": "unknown field(s) ['colour']",
        "nothing: here\n": "no `variants:` mapping",
        # A name becomes a DuckDB schema and an asset key prefix.
        "variants:\n  baseline: {}\n  main: {}\n": "'main' is taken",
        "variants:\n  baseline: {}\n  2fast: {}\n": "starting with a letter",
        "variants:\n  baseline: {}\n  Loud: {}\n": "lower-case",
        "variants:\n  baseline: {}\n  big: {mind_model: claude-sonnet-5-5}\n": (
            "add `engine: anthropic`"
        ),
        "variants:\n  baseline: {}\n  big: {engine: anthropic, mind_model: 7}\n": (
            "mind_model 7 is not a model name"
        ),
    }
    _each_refused(cases, tmp_path / "variants.yaml")
    with pytest.raises(SettingsError, match="WORKSHOP_VARIANT='bogus' is not a variant"):
        load_settings({"WORKSHOP_VARIANT": "bogus", "WORKSHOP_NEWS_FEEDS": "none"})
    assert load_settings({"WORKSHOP_NEWS_FEEDS": "none"}).variant == "baseline"
    # A variant of another model: what it changes of the LLM resource, and only that.
    from workshop_dagster.resources import LLMResource

    sonnet = variants["sonnet_minds"]
    assert (sonnet.engine, sonnet.mind_model, sonnet.synthesis_model) == (
        "anthropic",
        "claude-sonnet-5-5",
        "",
    )
    llm = LLMResource(provider="anthropic", synthesis_model="s", personas="/p")
    as_sonnet = llm.for_variant("sonnet_minds")
    assert (as_sonnet.mind_model, as_sonnet.synthesis_model, as_sonnet.personas) == (
        "claude-sonnet-5-5",
        "s",
        "",
    )


def test_the_side_variants_default_to_those_this_install_runs_and_bad_lists_are_named():
    env = {"WORKSHOP_NEWS_FEEDS": "none"}
    # Offline: every variant whose engine is WORKSHOP_LLM's or none (not the Claude or the
    # local-model ones: they need a key or a server).
    assert load_settings(env).side_variants == ("no_feedback", "placebo")
    # Named, a variant on another engine runs beside the offline minds when it has what that
    # engine needs: a local model its server (here the default, Ollama's) and its model.
    assert load_settings({**env, "WORKSHOP_VARIANTS": "qwen_local"}).side_variants == (
        "qwen_local",
    )
    remote = {**env, "WORKSHOP_VARIANTS": "qwen_local"}
    remote["WORKSHOP_LLM_BASE_URL"] = "https://openrouter.ai/api/v1"
    with pytest.raises(SettingsError, match="qwen_local runs the openai minds, which has no price"):
        load_settings(remote)
    assert load_settings({**env, "WORKSHOP_VARIANTS": "none"}).side_variants == ()
    assert load_settings({**env, "WORKSHOP_VARIANTS": " placebo "}).side_variants == ("placebo",)
    own = load_settings({**env, "WORKSHOP_VARIANT": "placebo"})
    assert own.side_variants == ("baseline", "no_feedback")
    claude = {**env, "WORKSHOP_LLM": "anthropic", "ANTHROPIC_API_KEY": "sk-test"}
    assert "skeptic_claude" in load_settings(claude).side_variants
    cases = {
        "bogus": "'bogus' is not a variant",
        "baseline": "baseline is the code location's own variant",
        "placebo,placebo": "listed twice",
        "skeptic_claude": "runs the anthropic minds, which needs ANTHROPIC_API_KEY",
    }
    for text, says in cases.items():
        with pytest.raises(SettingsError, match="WORKSHOP_VARIANTS") as raised:
            load_settings({**env, "WORKSHOP_VARIANTS": text})
        assert says in str(raised.value), text
    # A schema named like the warehouse file would be ambiguous in DuckDB (`placebo.memo`).
    with pytest.raises(SettingsError, match="name of the warehouse file"):
        load_settings({**env, "WORKSHOP_DB": "/tmp/x/placebo.duckdb"})


class History:
    """What `Feedback` asks of the loop's history, with each point's record told apart."""

    def __init__(self, lessons_at: dict):
        self.lessons_at = lessons_at  # time -> scored rows known then
        self.asked = []

    def _rows(self, at):
        known = [t for t in self.lessons_at if t <= at]
        return self.lessons_at[max(known)] if known else []

    def record_rows(self, at):
        self.asked.append(at)
        return {"track_record": [{"as_of": str(at)}], "calibration": [], "rules": []}

    def recent_scored(self, at, n):
        return self._rows(at)[-n:]

    def count_known(self, at):
        return len(self._rows(at))

    def known_through(self, at):
        rows = self._rows(at)
        return max((r["known_at"] for r in rows), default=None)


def _scored(day: str, i: int) -> dict:
    return {
        "cycle_key": f"{day}-19:15",
        "source": "flow",
        "regime": "risk_on",
        "known_at": T(f"{day} 16:15"),
        "hit": i % 2 == 0,
        "score": 0.85 if i % 2 == 0 else 0.0,
        "direction": "up",
        "subject": "SPY",
        "ticker": "SPY",
        "relative_to": None,
        "timeframe_hours": 24.0,
        "subject_kind": "index",
        "horizon_sessions": 1,
        "timeframe": "24h",
        "confidence": 0.6,
        "realized_return_pct": 0.4,
    }


def test_no_feedback_shows_nothing_and_the_placebo_shows_as_many_lines_from_earlier():
    cycle = T("2025-09-01 19:15")
    history = History(
        {
            T("2025-01-02 17:00"): [_scored("2025-01-02", i) for i in range(8)],
            T("2025-08-29 17:00"): [_scored("2025-08-29", i) for i in range(3)],
        }
    )
    record, lessons, through = Feedback("off").shown(history, cycle, "risk_on")
    assert all(rows == [] for rows in record.values()) and lessons == [] and through is None

    record, lessons, _ = Feedback("on").shown(history, cycle, "risk_on")
    assert len(lessons) == 3 and {lesson.cycle_key for lesson in lessons} == {"2025-08-29-19:15"}

    record, lessons, through = Feedback("placebo", 182).shown(history, cycle, "risk_on")
    # As many lines as the cycle's own record would show (3), none of them its own record:
    # lessons known half a year before, the record as of then.
    assert len(lessons) == 3 and {lesson.cycle_key for lesson in lessons} == {"2025-01-02-19:15"}
    assert history.asked[-1] == cycle - pd.Timedelta(days=182)
    assert through == T("2025-01-02 16:15")
    assert len(lessons) <= LESSONS_SHOWN
    # Before any earlier record exists, the placebo shows nothing (never the cycle's own).
    early = Feedback("placebo", 182).shown(history, T("2025-03-03 19:15"), "risk_on")
    assert early[1] == [] and all(rows == [] for rows in early[0].values())


def _synthesis(n_days: int, right, confidence=0.6, seed=5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_days * 2):
        ts = T("2026-01-05 09:45") + pd.Timedelta(days=i // 2, hours=3 * (i % 2))
        hit = right(i, rng)
        rows.append(
            {
                "cycle_key": f"{ts:%Y-%m-%d-%H:%M}",
                "cycle_ts": ts,
                "source": "synthesis",
                "status": "abstained" if i % 7 == 3 else "scored",
                "confidence": confidence,
                "hit": hit,
                "score": 0.85 if hit else 0.0,
                "horizon_sessions": 1,
            }
        )
    return pd.DataFrame(rows)


def test_a_variant_against_itself_is_zero_and_an_always_right_one_wins_beyond_chance():
    baseline = _synthesis(60, lambda i, rng: bool(rng.random() < 0.52))
    for row in compare(baseline, baseline):
        assert row.difference == 0 and row.low <= 0 <= row.high, row
        assert row.verdict("a", "b") == "no difference beyond chance"
    oracle = baseline.assign(hit=True, score=0.85, confidence=0.9)
    rows = {(r.scope, r.measure): r for r in compare(oracle, baseline)}
    hit = rows["calls both made", "hit_rate"]
    assert hit.low > 0 and hit.verdict("oracle", "baseline") == "oracle better"
    brier = rows["all cycles", "brier"]
    assert brier.high < 0 and brier.p_value < 0.01
    assert brier.verdict("oracle", "baseline") == "oracle better"
    # Abstentions are counted over all cycles, as a coin (Brier 0.25), not among the calls both
    # made.
    assert rows["all cycles", "brier"].n_cycles > rows["calls both made", "brier"].n_cycles
    abstains = baseline.assign(status="abstained")
    coin = {(r.scope, r.measure): r for r in compare(abstains, baseline)}
    assert coin["all cycles", "brier"].a == pytest.approx(0.25)
    assert coin["all cycles", "log_score"].a == pytest.approx(np.log(0.5))
    assert coin["calls both made", "brier"].n_cycles == 0


def test_diebold_mariano_on_no_difference_and_on_a_constant_one():
    assert diebold_mariano(np.zeros(30), 2) == (0.0, 1.0)
    stat, p = diebold_mariano(np.r_[np.full(20, 0.1), np.full(20, 0.12)], 1)
    assert stat > 0 and p < 0.001


def test_a_claude_variant_names_its_engine_and_a_persona_folder_that_exists(tmp_path):
    skeptic = load_variants()["skeptic_claude"]
    assert skeptic.engine == "anthropic"
    assert (
        (Path(skeptic.personas) / "synthesis.md")
        .read_text()
        .startswith("You are the synthesis, and a skeptic.")
    )
    with pytest.raises(
        SettingsError, match="runs the anthropic minds, which needs ANTHROPIC_API_KEY"
    ):
        load_settings({"WORKSHOP_VARIANT": "skeptic_claude", "WORKSHOP_NEWS_FEEDS": "none"})
    path = tmp_path / "variants.yaml"
    path.write_text("variants:\n  baseline: {}\n  x: {engine: anthropic, personas: nowhere}\n")
    with pytest.raises(VariantsFileError, match="personas 'nowhere' is not a folder"):
        load_variants(path)


def test_the_variants_page_shows_each_comparison_with_its_chart_and_escapes_names(tmp_path):
    from workshop_dagster.predictions.comparison import as_json, cumulative
    from workshop_dagster.publish.site import SiteData, build_site

    baseline = _synthesis(30, lambda i, rng: bool(rng.random() < 0.55))
    other = _synthesis(30, lambda i, rng: bool(rng.random() < 0.5), seed=9)
    doc = as_json(
        "baseline", "<b>x</b>", "daily", compare(baseline, other), cumulative(baseline, other)
    )
    assert len(doc["cumulative"]["cycle_ts"]) == 60 and len(doc["rows"]) == 8
    posts = pd.DataFrame(columns=["cycle_key", "cycle_ts", "slug", "title", "markdown"])
    empty = pd.DataFrame()
    built = build_site(
        SiteData(posts, empty, empty, empty, empty, comparisons=[doc]), tmp_path / "site"
    )
    html = (tmp_path / "site" / "variants.html").read_text()
    assert "img/variants-0.png" in built["images"]
    assert (tmp_path / "site" / "img" / "variants-0.png").stat().st_size > 5_000
    assert "baseline against &lt;b&gt;x&lt;/b&gt; (daily walk)" in html and "<b>x" not in html
    assert html.count("<tr><td>") == 8
    # No comparison yet: the page says how to make one.
    build_site(SiteData(posts, empty, empty, empty, empty), tmp_path / "empty")
    assert "make compare A=baseline" in (tmp_path / "empty" / "variants.html").read_text()


def test_a_past_record_point_never_holds_a_call_made_at_the_point_itself():
    from workshop_dagster.minds.context import CycleHistory, record_point

    # 2024-11-29 was a half day (close 13:00): its 13:15 cycle sits on its own record point.
    half_day = T("2024-11-29 13:15")
    assert record_point(half_day) == half_day
    history = CycleHistory(closes=pd.DataFrame(columns=["ticker", "bar_ts", "close"]))
    history.known = [
        {"cycle_ts": half_day, "known_at": half_day, "status": "abstained", "source": "flow"}
    ]
    assert history.known_by(half_day) == []  # counted from the next point, as the loop does
    assert len(history.known_by(T("2024-12-02 19:15"))) == 1


def test_a_variants_calibration_priors_change_its_probabilities_and_nothing_of_the_loops(tmp_path):
    """`calibration` in variants.yaml: fewer pseudo-calls trust the record sooner. The loop's
    own contexts carry no priors, so its prompts and stored documents are unchanged."""
    from dataclasses import replace

    from tests.unit.test_synthesis import _bin, _context, _record
    from workshop_dagster.minds.calibration import call_probability

    path = tmp_path / "variants.yaml"
    path.write_text("variants:\n  baseline: {}\n  eager: {calibration: {bin: 5, direction: 5}}\n")
    eager = load_variants(path)["eager"]
    assert eager.priors == {"bin": 5, "direction": 5}
    loop = _context(
        track_record=[_record("flow", 40, 36)],
        calibration=[_bin("flow", "up", 0.3, 40, 0.9)],
    )
    sooner = replace(loop, priors=eager.priors)
    assert call_probability(sooner, "flow", 0.35, "up") > call_probability(loop, "flow", 0.35, "up")
    assert "priors" not in loop.as_dict() and "priors" not in loop.stored()[0]
    assert sooner.as_dict()["priors"] == {"bin": 5, "direction": 5}
    bad = {
        "{calibration: {bins: 5}}": "calibration 'bins' is not one of",
        "{calibration: {bin: -1}}": "calibration bin -1 is not a whole number",
        "{calibration: {bin: 2.5}}": "calibration bin 2.5 is not a whole number",
        "{calibration: []}": "calibration must map",
    }
    _each_refused(
        {f"variants:\n  baseline: {{}}\n  eager: {fields}\n": says for fields, says in bad.items()},
        path,
    )


def _each_refused(cases: dict[str, str], path) -> None:
    """Each variants file text is refused with a message that says what the case expects."""
    for text, says in cases.items():
        path.write_text(text)
        with pytest.raises(VariantsFileError) as raised:
            load_variants(path)
        assert says in str(raised.value), text


def test_a_variant_sets_its_own_portfolio_sizing_checked_as_the_settings_are(tmp_path):
    from workshop_dagster.config.variants import VariantsFileError, load_variants
    from workshop_dagster.portfolio.rules import PortfolioRules

    good = tmp_path / "good.yaml"
    good.write_text(
        "variants:\n  baseline: {}\n  bold:\n    sizing: {kelly_fraction: 0.5, position_cap: 0.1}\n"
    )
    rules = load_variants(good)["bold"].portfolio_rules(PortfolioRules())
    assert (rules.kelly_fraction, rules.position_cap, rules.gross_cap) == (0.5, 0.1, 1.0)
    assert load_variants(good)["baseline"].portfolio_rules(PortfolioRules()) == PortfolioRules()
    for sizing, named in (
        ("{kelly_fraction: 2}", "out of range"),
        ("{leverage: 3}", "'leverage' is not one of"),
        ("{position_cap: 0.5, gross_cap: 0.2}", "one leg cannot be larger"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(f"variants:\n  baseline: {{}}\n  bold:\n    sizing: {sizing}\n")
        with pytest.raises(VariantsFileError, match=named):
            load_variants(bad)
