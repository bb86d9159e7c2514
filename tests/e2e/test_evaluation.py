"""`make evaluate` as a user runs it: a walk-forward replay on real history, audited and
reproducible (a short stretch of 2018 here; the full period is in docs/evaluation.md)."""

import json
import sys

import pytest

from tests.e2e.processes import env_with, run

pytestmark = [pytest.mark.e2e, pytest.mark.shared_data]


def _evaluate(market, out) -> tuple[int, str]:
    args = [sys.executable, "-m", "workshop_dagster.evaluation", "--market", str(market)]
    args += ["--start", "2018-01-02", "--end", "2018-03-29", "--out", str(out)]
    return run(args, env_with({}), timeout=600)


def test_walk_forward_is_leak_free_and_reproducible(shared_market, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    code, out = _evaluate(shared_market, first)
    assert code == 0, out[-3000:]
    assert "61 evening cycles, 2018-01-02-19:15 .. 2018-03-29-19:15" in out
    assert "leak audit:" in out and ", 0 violations" in out
    figures = json.loads((first / "figures.json").read_text())
    whole = figures["whole period"]
    assert set(whole) == {"synthesis", "macro", "flow", "contrarian"} | {
        "always_up",
        "momentum",
        "base_rate",
    }
    # Baselines are scored on the synthesis's own calls; base_rate is the reference itself.
    assert whole["always_up"]["n"] == whole["synthesis"]["n"] > 0
    assert whole["base_rate"]["brier_skill"] == 0
    assert (first / "reliability.png").stat().st_size > 10_000
    assert "| second half" in (first / "report.md").read_text()

    code, out = _evaluate(shared_market, second)
    assert code == 0, out[-3000:]
    assert (second / "figures.json").read_text() == (first / "figures.json").read_text()
