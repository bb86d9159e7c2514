"""The benchmarks that run backfills and concurrent runs, on a tiny size (test_benchmarks.py has
the others; two files, so the suite's workers share them out)."""

import pytest

from tests.e2e.test_benchmarks import runs_on_a_tiny_size

pytestmark = [pytest.mark.e2e, pytest.mark.bench]


@pytest.mark.parametrize("name", ["backfill", "loop_backfill", "variant_backfill", "pool_wait"])
def test_benchmark_runs_on_a_tiny_size(name):
    runs_on_a_tiny_size(name)


def test_the_loop_backfill_benchmark_runs_on_a_lake():
    """The loop's backfill with the warehouse in a DuckLake on a PostgreSQL on 127.0.0.1."""
    from tests.e2e.postgres import postgres_bin

    postgres_bin()  # skips (or fails in CI) where Debian's postgresql is missing
    runs_on_a_tiny_size("loop_backfill", "--lake", result="loop_backfill_lake")


def test_the_concurrent_variants_benchmark_runs_on_a_lake():
    """Four variant runs on one lake, in turn and at once: each run succeeds and every
    variant's calls are there once per cycle."""
    from tests.e2e.postgres import postgres_bin

    postgres_bin()  # skips (or fails in CI) where Debian's postgresql is missing
    runs_on_a_tiny_size("lake_variants")
