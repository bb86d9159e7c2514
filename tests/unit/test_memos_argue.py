"""Offline memos that argue: minds that state their evidence and answer each other, a synthesis
that weighs them, titles that say what the memo says, and no claim its figures contradict."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from workshop_dagster.market.universe import TICKERS
from workshop_dagster.minds.cycle_context import CycleContext, MarketView, RegimeView
from workshop_dagster.minds.debate import debate_label
from workshop_dagster.minds.engine import OfflineEngine
from workshop_dagster.minds.offline import contrarian_mind, flow_mind, macro_mind
from workshop_dagster.predictions.claim_check import bare_numbers, claim_problems


def _context(
    moves: dict | None = None,
    five_day: dict | None = None,
    d10: float | None = -18.0,
    vix: float = 18.0,
    dvix: float = -0.4,
    breadth: float = 0.55,
    spread5: float = 0.3,
    label: str = "transition",
    track_record=(),
    news=(),
    releases=(),
) -> CycleContext:
    moves = moves or {}
    five_day = five_day or {}
    tickers = {
        t: {
            "last": 100.0,
            "change_1d_pct": moves.get(t, 0.2),
            "change_5d_pct": five_day.get(t, 0.5),
            "rel_strength_5d": 0.0,
        }
        for t in TICKERS
    }
    market = MarketView(
        tickers=tickers,
        breadth=breadth,
        size_spread_1d=0.1,
        size_spread_5d=spread5,
        mega_cap_1d=0.3,
        mega_cap_5d=0.6,
        vix_level=vix,
        vix_change_1d=dvix,
        ust_10y=4.2,
        ust_2y=3.8,
        spread_10y_2y=0.4,
        fed_funds=3.64,
        ust_10y_change_5obs_bp=d10,
    )
    return CycleContext(
        cycle_key="2026-03-30-19:15",
        cycle_ts="2026-03-30 19:15",
        ordinal=280,
        regime=RegimeView(label, -0.1, "vix_level 18.0 (-0.12); breadth 0.55 (+0.03)"),
        market=market,
        news=list(news),
        track_record=list(track_record),
        releases=list(releases),
        news_note=None if news else "no headline is public in the day before this cycle",
    )


def _memo(context: CycleContext):
    engine = OfflineEngine()
    opinions = engine.opinions(context)
    return opinions, engine.synthesize(context, opinions, debate_label(opinions))


def test_the_issues_tlt_case_says_what_its_figures_mean():
    """The 10-year down 18bp with TLT down 0.25%: yields are falling hard, and TLT is named as
    lagging, never as the proof that yields fall."""
    o = macro_mind(_context(moves={"TLT": -0.25}, d10=-18.0))
    assert o.ticker == "TLT" and o.direction == "up"
    assert "The 10Y has fallen 18bp over its last five prints" in o.narrative
    assert "yields are falling hard" in o.narrative
    assert "TLT down 0.25% today, lagging the move" in o.narrative
    assert claim_problems(o.narrative, _context(moves={"TLT": -0.25}).as_dict()) == []
    # A small move is not "hard".
    small = macro_mind(_context(d10=-3.0))
    assert "hard" not in small.narrative and "yields are falling" in small.narrative


def test_a_mind_never_makes_a_call_it_rates_under_a_coin():
    """The Contrarian right in 3 of 40 stretched-move calls in this regime: its number stays
    its signal's conviction, over a coin (a call names the side it thinks likelier), so it
    keeps calling and its record keeps learning; the record reaches the memo through the
    calibration ("its record makes that ..."), never by a mind that "wants" a call at 9%."""
    record = [
        {
            "source": "contrarian",
            "regime": "transition",
            "timeframe_bucket": "all",
            "subject_kind": "all",
            "n": 40,
            "hits": 3,
        }
    ]
    stretched = {"NVDA": 14.0}
    fresh = contrarian_mind(_context(five_day=stretched))
    burned = contrarian_mind(_context(five_day=stretched, track_record=record))
    assert not burned.abstained and burned.confidence == fresh.confidence >= 0.5
    assert "My record in transition: 3 of 40 right" in burned.narrative
    opinions, memo = _memo(_context(five_day=stretched, track_record=record))
    assert "wants" not in memo.body
    assert "Contrarian argues NVDA down over 48h" in memo.body
    assert f"It states {100 * burned.confidence:.0f}%, and its record makes that" in memo.body


@settings(max_examples=200, deadline=None)
@given(
    vix=st.floats(10, 60),
    d10=st.floats(-60, 60),
    breadth=st.floats(0, 1),
    spread5=st.floats(-8, 8),
    stretch=st.floats(-25, 25),
    n=st.integers(0, 200),
    share=st.floats(0, 1),
)
def test_no_offline_mind_states_a_call_under_a_coin(vix, d10, breadth, spread5, stretch, n, share):
    """Over market states and records good and bad: every call any offline mind makes is
    stated at 0.5 or more."""
    record = [
        {
            "source": mind,
            "regime": "transition",
            "timeframe_bucket": "all",
            "subject_kind": "all",
            "n": n,
            "hits": round(n * share),
        }
        for mind in ("macro", "flow", "contrarian")
    ]
    ctx = _context(
        vix=vix,
        d10=d10,
        breadth=breadth,
        spread5=spread5,
        five_day={"NVDA": stretch},
        track_record=record,
    )
    for mind in (macro_mind, flow_mind, contrarian_mind):
        o = mind(ctx)
        assert o.abstained or o.confidence >= 0.5, (o.mind, o.confidence)


def test_minds_that_disagree_answer_each_other_and_the_memo_weighs_it():
    """Macro (the 10-year down 18bp: TLT up) against Flow (breadth at 80%: SPY up): opposite
    leans on risk; each answers the other with its own lens, and the memo quotes the clash."""
    ctx = _context(breadth=0.8, d10=-18.0)
    opinions, memo = _memo(ctx)
    by = {o.mind: o for o in opinions}
    assert by["macro"].ticker == "TLT" and by["flow"].ticker == "SPY"
    assert "Flow argues SPY up over 48h. I don't buy it: the 10Y has moved -18bp" in (
        by["macro"].narrative
    )
    assert "Macro argues TLT up over 1w. The tape doesn't back that: breadth is at 80%" in (
        by["flow"].narrative
    )
    body = memo.body
    assert "My minds read the same tape and disagree." in body
    assert "Where they clash," in body and "What decides it for me:" in body
    assert "What would change my mind:" in body
    assert "The debate reads split: the calls lean opposite ways on risk" in body
    assert "The wire is silent" in body
    assert claim_problems(body, ctx.as_dict(), debate_label(opinions)) == []


def test_the_wire_and_the_calendar_are_read_with_their_times():
    news = [
        {
            "cite": "N1",
            "item_id": "a",
            "published_at": "2026-03-30 16:45",
            "visible_from": "2026-03-30 16:45",
            "source": "Yahoo",
            "title": "Treasury yields slide as traders price a Fed cut",
            "summary": "",
            "tickers": "TLT,MACRO",
        }
    ]
    releases = [{"name": "the jobs report", "at": "2026-04-03 08:30", "status": "coming"}]
    ctx = _context(news=news, releases=releases)
    opinions, memo = _memo(ctx)
    macro = next(o for o in opinions if o.mind == "macro")
    assert "The jobs report is due on 2026-04-03 at 08:30." in macro.narrative
    assert "[N1] “Treasury yields slide as traders price a Fed cut”" in macro.narrative
    assert "at 16:45 Yahoo ran [N1]" in memo.body
    # TLT up over a week straddles Friday's jobs report: the memo says it takes that risk.
    assert "A 1w call straddles the jobs report" in memo.body


def test_a_title_says_what_the_memo_says():
    a = _memo(_context(moves={"TLT": -0.25}))[1]
    b = _memo(_context(moves={"TLT": 0.31}))[1]
    assert a.title == "TLT Higher Over 1w: the 10Y down 18bp, TLT down 0.25% Today"
    assert b.title != a.title
    assert _memo(_context(moves={"TLT": -0.25}))[1].title == a.title


@settings(max_examples=60, deadline=None)
@given(
    d10=st.one_of(st.none(), st.floats(-40, 40).map(lambda x: round(x, 1))),
    vix=st.floats(9, 45).map(lambda x: round(x, 2)),
    dvix=st.floats(-6, 6).map(lambda x: round(x, 2)),
    breadth=st.floats(0, 1).map(lambda x: round(x, 4)),
    spread5=st.floats(-6, 6).map(lambda x: round(x, 2)),
    label=st.sampled_from(["risk_on", "risk_off", "transition"]),
    move=st.floats(-12, 12).map(lambda x: round(x, 2)),
    stretch=st.floats(-25, 25).map(lambda x: round(x, 2)),
)
def test_no_offline_memo_contradicts_its_figures_or_drops_a_unit(
    d10, vix, dvix, breadth, spread5, label, move, stretch
):
    ctx = _context(
        moves={"TLT": move, "SPY": move / 3, "NVDA": -move},
        five_day={"TSLA": stretch, "IWM": stretch / 4},
        d10=d10,
        vix=vix,
        dvix=dvix,
        breadth=breadth,
        spread5=spread5,
        label=label,
    )
    opinions, memo = _memo(ctx)
    assert not memo.title.startswith("My Draft Contradicted"), memo.body
    assert claim_problems(memo.body, ctx.as_dict(), debate_label(opinions)) == []
    assert bare_numbers(memo.body) == []
    for o in opinions:
        assert claim_problems(o.narrative, ctx.as_dict()) == [], o.narrative
        assert bare_numbers(o.narrative) == [], o.narrative
    assert 250 <= len(memo.body.split()) <= 800


def test_a_draft_that_contradicts_itself_is_refused_not_published(monkeypatch):
    """A bug that writes "volatility is calm" at VIX 30: the memo abstains and names it."""
    from workshop_dagster.minds import memo_prose

    ctx = _context(vix=30.0)
    monkeypatch.setattr(memo_prose, "opening", lambda opinions: "Volatility is calm.")
    opinions, memo = _memo(ctx)
    assert memo.abstained and memo.title == "My Draft Contradicted Its Own Figures: No Call"
    assert "'Volatility is calm', but VIX is at 30.00" in memo.body
    assert "[DIRECTION: abstain]" in memo.body


def test_the_context_fields_round_trip():
    ctx = _context(releases=[{"name": "CPI", "at": "2026-04-10 08:30", "status": "coming"}])
    again = CycleContext.from_dict(ctx.as_dict())
    assert again == replace(ctx)
