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


def test_the_celery_overhead_benchmark_runs_through_a_real_redis():
    """The cycle job in-process, on the multiprocess executor and through Redis and a Celery
    worker: each run succeeds, and a step's overhead is reported against multiprocess."""
    from tests.e2e.test_cluster import needs_redis_server

    needs_redis_server()  # skips (or fails in CI) where Debian's redis-server is missing
    runs_on_a_tiny_size("celery_overhead")


def test_the_cluster_scaling_benchmark_runs_on_worker_hosts():
    """Four variant runs on one and on two one-core worker hosts (network namespaces): each run
    succeeds and each variant's calls are there once per cycle. Says it skipped where it cannot
    make hosts (not root, no iproute2, no redis-server or postgresql)."""
    runs_on_a_tiny_size("cluster_scaling")
