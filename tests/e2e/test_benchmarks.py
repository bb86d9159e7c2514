"""Each benchmark script runs on a tiny size and ends with its result line. (Benchmarks measure;
the suite never asserts on their timings.) The backfill benchmarks are in
test_benchmark_backfills.py: a file each, the suite's workers share them out."""

import re
import sys

import pytest

from tests.conftest import PROJECT
from tests.e2e.processes import env_with, run

pytestmark = [pytest.mark.e2e, pytest.mark.bench]
RESULT = re.compile(r"^(\w+): \S+ .+\((.+)\)$")


@pytest.mark.parametrize(
    "name", ["load", "cycle", "scoring", "claude_path", "openai_path", "portfolio"]
)
def test_benchmark_runs_on_a_tiny_size(name):
    runs_on_a_tiny_size(name)


def runs_on_a_tiny_size(name: str, *args: str, result: str | None = None) -> None:
    """The script at `--tiny` (and `args`) exits 0 and ends with its result line, named `result`
    (default: the script's name), or says it skipped."""
    code, out = run(
        [sys.executable, str(PROJECT / "benchmarks" / f"{name}.py"), "--tiny", *args],
        env_with({}),
        timeout=600,
    )
    assert code == 0, out[-3000:]
    last = out.strip().splitlines()[-1]
    if "skipped" in last:
        pytest.skip(last)
    match = RESULT.match(last)
    assert match and match.group(1) == (result or name), last
    print(last)  # `make bench-check` shows it (pytest -rP)
