"""Each benchmark script runs on a tiny size and ends with its result line. (Benchmarks measure;
the suite never asserts on their timings.)"""

import re
import sys

import pytest

from tests.conftest import PROJECT
from tests.e2e.processes import env_with, run

pytestmark = pytest.mark.e2e
RESULT = re.compile(r"^(\w+): \S+ .+\((.+)\)$")


@pytest.mark.parametrize(
    "name", ["load", "cycle", "backfill", "loop_backfill", "scoring", "claude_path", "pool_wait"]
)
def test_benchmark_runs_on_a_tiny_size(name):
    code, out = run(
        [sys.executable, str(PROJECT / "benchmarks" / f"{name}.py"), "--tiny"],
        env_with({}),
        timeout=600,
    )
    assert code == 0, out[-3000:]
    last = out.strip().splitlines()[-1]
    if "skipped" in last:
        pytest.skip(last)
    match = RESULT.match(last)
    assert match and match.group(1) == name, last
