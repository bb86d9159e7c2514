"""Does the cluster scale with its hosts? Four variant runs (the `placebo` and `no_feedback`
variants, each over the first and the second half of a quarter of the default cadence) sent at
once to Celery workers, on one worker host against two. A host is a network namespace with its
own address (tests/e2e/hosts.py) whose one worker (concurrency 1) is pinned to a core of its own
with `taskset`, so each host is a one-core machine: one host on core 0, two hosts on cores 0 and
1. PostgreSQL (the instance and the lake's catalog) and Redis listen on the hosts' bridge; the
runs are launched from the machine itself. The loop is backfilled over the quarter first, in
the launcher's process (not timed). Reports the two-host wall time and its ratio to one host's
(target <= 0.6: the machine has two cores). Every run must succeed and each variant's calls be
there once per cycle. Needs root, `ip` (iproute2), Debian's redis-server and postgresql."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import BIN, PROJECT, arguments, interleaved, report
from lake_variants import VARIANTS, _every_call_once, _range

REPEATS = 2
LOOP = "group:market or group:minds or group:predictions"


def main() -> None:
    args = arguments(__doc__)
    from tests.e2e.hosts import NoNamespaces, network_hosts
    from workshop_dagster.commands.local_servers import ServerMissing, postgres_bin, redis_bin

    try:
        postgres_bin()
        redis_bin()
        with network_hosts(()):
            pass
    except (ServerMissing, NoNamespaces) as exc:
        print(f"cluster_scaling: skipped: {exc}")
        return
    span = _quarter(8 if args.tiny else None)
    times = 1 if args.tiny else REPEATS
    two, one = interleaved(
        times, lambda: _once(("hosta", "hostb"), span), lambda: _once(("hosta",), span)
    )
    print(
        f"four variant runs over {len(span)} cycles: two hosts "
        f"{', '.join(f'{t:.1f}' for t in two)} s, one host {', '.join(f'{t:.1f}' for t in one)} s"
    )
    two_s, one_s = sorted(two)[len(two) // 2], sorted(one)[len(one) // 2]
    report(
        "cluster_scaling",
        two_s,
        f"s for four variant runs over {len(span)} cycles on two one-core hosts",
        two_s / one_s,
        "one one-core host; target <= 0.6",
    )


def _quarter(limit: int | None) -> list[str]:
    from workshop_dagster.config.settings import DEFAULT_CYCLE_CRON, DEFAULT_CYCLE_SKIP
    from workshop_dagster.lib.partitions import build_cycle_partitions

    keys = build_cycle_partitions(
        "2025-01-02", DEFAULT_CYCLE_CRON, "America/New_York", None, DEFAULT_CYCLE_SKIP
    )
    span = [k for k in keys.get_partition_keys() if k < "2025-04"]
    return span[:limit] if limit else span


def _once(names: tuple[str, ...], span: list[str]) -> float:
    """A fresh cluster of `names` hosts (host i pinned to core i); the four runs' wall time."""
    from tests.e2e.hosts import HostCluster, network_hosts

    # PostgreSQL runs as the `postgres` user, who cannot reach a folder private to root.
    folder = Path(tempfile.mkdtemp(prefix="workshop-bench-hosts-"))
    folder.chmod(0o755)
    try:
        with network_hosts(names) as (gateway, hosts):
            cluster = HostCluster(folder, gateway, hosts, cpus={n: i for i, n in enumerate(names)})
            cluster.extra_env = {"WORKSHOP_START": "2025-01-02", "WORKSHOP_NEWS_FEEDS": "none"}
            try:
                cluster.start()
                env = cluster.env
                dagster = str(BIN / "dagster")
                module = ["-m", "workshop_dagster.definitions"]
                _run(
                    [dagster, "asset", "materialize", *module, "--select", LOOP]
                    + ["--partition-range", f"{span[0]}...{span[-1]}"],
                    {**env, "WORKSHOP_EXECUTOR": "in_process"},
                )
                half = len(span) // 2
                commands = [
                    [dagster, "job", "execute", *module, "-j", f"{v}_cycle", "--tags", _range(part)]
                    for v in VARIANTS
                    for part in (span[:half], span[half:])
                ]
                started = time.perf_counter()
                procs = [
                    subprocess.Popen(
                        c, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                    )
                    for c in commands
                ]
                outputs = [p.communicate()[0].decode(errors="replace") for p in procs]
                seconds = time.perf_counter() - started
                for proc, out in zip(procs, outputs, strict=True):
                    if proc.returncode != 0:
                        raise SystemExit(f"a variant run failed:\n{out[-3000:]}")
                on = [h for run in cluster.step_hosts().values() for h in run.values()]
                busy = {n: _busy(folder / "logs" / f"{n}.log") for n in names}
                print(
                    f"{len(names)} host(s): {seconds:.1f} s; steps a host: "
                    f"{ {h: on.count(h) for h in sorted(set(on))} }; the workers busy "
                    + ", ".join(f"{n} {b:.1f} s" for n, b in busy.items())
                )
                _every_call_once(env, len(span))
                return seconds
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _busy(log: Path) -> float:
    """The seconds a worker spent in its tasks (Celery logs each task's time)."""
    text = log.read_text(errors="replace")
    return sum(float(t) for t in re.findall(r"\] succeeded in ([0-9.]+)s", text))


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command[:4])}\n{(done.stdout + done.stderr)[-3000:]}")


if __name__ == "__main__":
    os.environ.pop("WORKSHOP_CYCLE_CRON", None)
    main()
