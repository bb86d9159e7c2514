"""The benchmarks that run backfills and concurrent runs, on a tiny size (test_benchmarks.py has
the others; two files, so the suite's workers share them out)."""

import pytest

from tests.e2e.test_benchmarks import runs_on_a_tiny_size

pytestmark = [pytest.mark.e2e, pytest.mark.bench]


@pytest.mark.parametrize("name", ["backfill", "loop_backfill", "variant_backfill", "pool_wait"])
def test_benchmark_runs_on_a_tiny_size(name):
    runs_on_a_tiny_size(name)
