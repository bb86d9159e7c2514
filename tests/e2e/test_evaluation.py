"""`make evaluate` as a user runs it: a walk-forward replay on real history, audited and
reproducible (a short stretch of 2018 here; the full period is in docs/evaluation.md)."""

import glob
import json
import re
import sys

import duckdb
import pytest

from tests.conftest import PROJECT, SHARED_MARKET, shared_path
from tests.e2e.dagster_dev import free_port
from tests.e2e.postgres import running_postgres
from tests.e2e.processes import env_with, run
from tests.memo_quality import assert_memos_argue

pytestmark = [pytest.mark.e2e, pytest.mark.shared_data]


def _evaluate(market, out, *more: str, home=None, env: dict | None = None) -> tuple[int, str]:
    args = [sys.executable, "-m", "workshop_dagster.evaluation", "--market", str(market)]
    args += ["--out", str(out), *more]
    extra = ({"DAGSTER_HOME": str(home)} if home else {}) | (env or {})
    return run(args, env_with(extra), timeout=600)


def _daily(market, out) -> tuple[int, str]:
    # Both walks, as `make evaluate` runs them; the intraday one has no cycle this early.
    return _evaluate(market, out, "--end", "2018-03-29")


@pytest.fixture(scope="module")
def first_walk(tmp_path_factory):
    """Both walks to 2018-03-29, as `make evaluate` runs them (the intraday one has no cycle
    this early): the daily one's folder and the run's output, shared by the module's tests."""
    market = shared_path(SHARED_MARKET)
    first = tmp_path_factory.mktemp("evaluation") / "first"
    # The user's instance, as `make evaluate` exports it (DAGSTER_HOME=.dagster_home).
    home = tmp_path_factory.mktemp("users_dagster_home")
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    code, out = _evaluate(market, first, "--end", "2018-03-29", home=home)
    assert code == 0, out[-3000:]
    return first, out, home


def test_the_evaluation_leaves_the_users_instance_as_it_was(first_walk):
    """Run with the Makefile's DAGSTER_HOME, the walks keep their runs in an instance of their
    own: the user's holds no run, no event and no history after it (it held none before)."""
    _, out, home = first_walk
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"], list(home.rglob("*"))
    assert "No dagster instance configuration file" not in out


def test_walk_forward_is_leak_free_and_reproducible(shared_market, first_walk, tmp_path):
    (first, out, _), second = first_walk, tmp_path / "second"
    assert "intraday walk-forward: no cycle by 2018-03-29 (it starts 2024-01-02); skipped" in out
    assert "61 evening cycles, 2018-01-02-19:15 .. 2018-03-29-19:15" in out
    assert "leak audit:" in out and ", 0 violations" in out
    figures = json.loads((first / "figures.json").read_text())
    whole = figures["whole period"]
    assert set(whole) == {"synthesis", "macro", "flow", "contrarian"} | {
        "always_up",
        "momentum",
        "base_rate",
    }
    # Baselines call the synthesis's own calls, by the same standing-call rule (always-up
    # restates where the synthesis turned on a subject it had called); base_rate is the
    # reference itself.
    up = whole["always_up"]
    assert up["n"] + up["n_restatements"] == whole["synthesis"]["n"] > 0
    assert whole["base_rate"]["n"] == whole["synthesis"]["n"]
    # Counted in calls, restatements apart, with block-bootstrap intervals around each figure.
    for source, row in whole.items():
        assert row["n_restatements"] >= 0, source
        if row["n"] >= 10:
            assert row["hit_rate_low"] <= row["hit_rate"] <= row["hit_rate_high"], source
            assert row["brier_skill_low"] <= row["brier_skill"] <= row["brier_skill_high"], source
    assert (first / "reliability.png").stat().st_size > 10_000
    report = (first / "report.md").read_text()
    assert "| second half" in report and "hit rate [95%]" in report
    assert "| portfolios |" not in report  # the portfolios have their own section
    # A plain verdict line per source against each baseline.
    verdicts = report.split("## Verdicts")[1]
    for source in ("synthesis", "macro", "flow", "contrarian"):
        for baseline in ("always_up", "momentum", "base_rate"):
            assert (
                re.search(
                    rf"- {source}: (better than|worse than|no better or worse than) {baseline}"
                    r"( beyond chance)? \(Brier [+-]\d\.\d{3}, 95% interval",
                    verdicts,
                )
                or f"- {source} against {baseline}: too few" in verdicts
            ), (source, baseline)

    # What following the calls would have earned: each half from fresh capital, every source's
    # portfolio and the benchmarks, a verdict line per benchmark and the cost-free comparison.
    earned = report.split("## What following the calls would have earned")[1]
    for half in ("first half", "second half"):
        book = figures["portfolios"][half]
        assert {"synthesis", "always_up", "buy_and_hold", "cash"} <= set(book), half
        assert book["cash"]["positions"] == 0 and book["buy_and_hold"]["costs"] > 0
        for bench in ("always_up", "momentum", "buy_and_hold", "cash"):
            assert re.search(
                rf"- {half}: synthesis(: (beats|trails|no better or worse than) {bench}"
                rf"| against {bench}: too few)",
                earned,
            ), (half, bench)
        assert f"- {half}: the synthesis paid $" in earned or "made no call" in earned

    # Again, in a DuckLake whose catalog is a PostgreSQL on 127.0.0.1 where one can be started
    # (else in a file again): the figures depend neither on the run nor on the backend.
    if glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        with running_postgres(free_port()) as pg:
            pg.psql("postgres", "create database walk")
            catalog = f"ducklake:postgres:dbname=walk host={pg.host} port={pg.port} user={pg.user}"
            lake = ("--end", "2018-03-29", "--lake", catalog)
            code, out = _evaluate(shared_market, second, *lake, env={"PGPASSWORD": pg.password})
            assert code == 0, out[-3000:]
            assert list((second / "lake").rglob("*.parquet"))
            # A lake that holds a walk already is refused, not mixed with a second one.
            code, refused = _evaluate(shared_market, second, *lake, env={"PGPASSWORD": pg.password})
            assert code != 0 and "holds" in refused and "a walk starts from an empty" in refused
    else:
        code, out = _daily(shared_market, second)
        assert code == 0, out[-3000:]
    assert (second / "figures.json").read_text() == (first / "figures.json").read_text()


def test_intraday_walk_scores_calls_at_the_minute_against_baselines_in_the_same_series(
    shared_market, tmp_path
):
    code, out = _evaluate(
        shared_market,
        tmp_path,
        "--walk",
        "intraday",
        "--start",
        "2026-03-30",
        "--end",
        "2026-04-01",
    )
    assert code == 0, out[-3000:]
    # The default cadence: 09:15 .. 15:45 every 30 minutes, 19:15 and 19:45: 16 a session.
    assert "48 cycles of the default cadence, 2026-03-30-09:15 .. 2026-04-01-19:45" in out
    assert "leak audit:" in out and ", 0 violations" in out
    # Real headlines reach the walk, and its memos argue with them (issue: real news).
    quality = assert_memos_argue(str(tmp_path / "evaluation.duckdb"))
    assert quality["memos"] == 48
    con = duckdb.connect(str(tmp_path / "evaluation.duckdb"), read_only=True)
    try:
        series = dict(
            con.execute(
                "select p.price_series, count(*) from predictions p join prediction_scores s "
                "using (cycle_key, source) where s.status = 'scored' group by 1"
            ).fetchall()
        )
        stale = con.execute(
            "select count(*) from market_quotes where ticker = 'TLT' and not stale"
        ).fetchone()[0]
        cited = con.execute("select count(*) from memo where body like '%[N%] “%'").fetchone()[0]
    finally:
        con.close()
    assert cited > 24, "most memos cite a headline of their minute"
    # Calls on the ten tickers with bars are scored at the minute; TLT has none: always stale.
    assert series.get("intraday", 0) > 0, series
    assert stale == 0
    whole = json.loads((tmp_path / "figures.json").read_text())["whole period"]
    # Each baseline on the synthesis's calls, by the standing-call rule: its own restatements
    # (always-up says "up" again where the synthesis turned) are not counted.
    for baseline in ("always_up", "momentum"):
        row = whole[baseline]
        assert row["n"] + row["n_restatements"] == whole["synthesis"]["n"] > 0, baseline
    assert "(intraday)" in (tmp_path / "report.md").read_text()


def test_a_walk_without_feedback_shows_no_record_and_compares_with_the_loop(
    shared_market, first_walk
):
    """`make evaluate EVALUATE_ARGS="--variant no_feedback"` and `make compare`, on 2018's
    first quarter: no context of the variant holds any record line (read back the way the leak
    audit reads them), and the comparison pairs the two walks cycle by cycle."""
    from workshop_dagster.minds.cycle_context import full_document

    root = first_walk[0]  # the baseline's walk; the variant's goes where `make evaluate` puts it
    folder = root / "variants" / "no_feedback"
    code, out = _evaluate(
        shared_market, folder, "--walk", "daily", "--end", "2018-01-19", "--variant", "no_feedback"
    )
    assert code == 0, out[-3000:]
    assert "variant no_feedback" in (folder / "report.md").read_text()
    assert "variant baseline" in (root / "report.md").read_text()
    db = root / "variants" / "no_feedback" / "evaluation.duckdb"
    with duckdb.connect(str(db), read_only=True) as conn:
        contexts = conn.execute("select context_json from mind_context").fetchall()
        records = dict(
            conn.execute("select record_id, record_json from context_records").fetchall()
        )
    assert len(contexts) == 13  # 2018-01-02 .. 01-19
    for (context_json,) in contexts:
        doc = full_document(context_json, records, {})
        assert doc["track_record"] == doc["lessons"] == doc["rules"] == doc["calibration"] == []
    code, out = run(
        [sys.executable, "-m", "workshop_dagster.evaluation.compare", "baseline", "no_feedback"]
        + ["--root", str(root)],
        env_with({}),
        timeout=300,
    )
    assert code == 0, out
    table = (root / "compare-baseline-vs-no_feedback-daily.md").read_text()
    # The cycles both walks decided with a new call or an abstention (a restatement is none).
    decided = []
    for walk in (root / "evaluation.duckdb", db):
        with duckdb.connect(str(walk), read_only=True) as conn:
            decided.append(
                {
                    k
                    for (k,) in conn.execute(
                        "select cycle_key from prediction_scores where source = 'synthesis' "
                        "and status in ('scored', 'abstained')"
                    ).fetchall()
                }
            )
    both = len(decided[0] & decided[1])
    assert 0 < both <= 13 and f"| all cycles | brier | {both} |" in table
    assert re.search(r"\| calls both made \| hit_rate \| \d+ \|", table)
    # The two variants' paper portfolios on the cycles both walked, and their Sharpe difference.
    assert re.search(
        r"Paper portfolios of the synthesis on the 13 cycles both walked .*Sharpe difference "
        r"baseline − no_feedback: ([+-]\d+\.\d\d \[95% [+-]\d+\.\d\d, [+-]\d+\.\d\d\]|too few days)",
        table,
    ), table[-800:]


def test_a_local_model_variant_walks_on_its_server_replays_the_second_time_and_compares(
    shared_market, first_walk
):
    """`make evaluate EVALUATE_ARGS="--variant qwen_local"` against a chat-completions server
    (the test's, on 127.0.0.1, Ollama's chunks), then `make compare baseline qwen_local`: the
    walk asks the server for every cycle once; a second walk replays every reply from the cache
    kept beside the walks, and asks nothing."""
    from tests.openai_server import ChatServer

    root = first_walk[0]
    folder = root / "variants" / "qwen_local"
    with ChatServer("ollama") as server:
        env = {"WORKSHOP_LLM_BASE_URL": server.url}
        args = (shared_market, folder, "--walk", "daily", "--end", "2018-01-03")
        for _ in range(2):
            code, out = run(
                [sys.executable, "-m", "workshop_dagster.evaluation", "--market", str(args[0])]
                + ["--out", str(folder), *args[2:], "--variant", "qwen_local"],
                env_with(env),
                timeout=300,
            )
            assert code == 0, out[-3000:]
            assert len(server.requests) == 8, "two cycles, asked once: the second walk replays"
    assert {r["body"]["model"] for r in server.requests} == {"qwen2.5:14b"}
    with duckdb.connect(str(folder / "evaluation.duckdb"), read_only=True) as conn:
        outcomes = conn.execute("select outcome, count(*) from llm_calls group by 1").fetchall()
    assert outcomes == [("replayed", 8)]
    code, out = run(
        [sys.executable, "-m", "workshop_dagster.evaluation.compare", "baseline", "qwen_local"]
        + ["--root", str(root)],
        env_with({}),
        timeout=300,
    )
    assert code == 0, out
    table = (root / "compare-baseline-vs-qwen_local-daily.md").read_text()
    assert re.search(r"\| all cycles \| brier \| [12] \|", table), table[:1500]
