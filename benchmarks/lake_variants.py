"""Variant runs on one shared lake, at once against in sequence. The warehouse is a DuckLake on a
PostgreSQL server started on 127.0.0.1 (docs/operations.md, "A shared warehouse"); the loop is
backfilled first over a month of the default cadence (not timed). Then four variant runs, each
its own `dagster job execute` process as a team's hosts would start them: the `placebo` and
`no_feedback` side variants, each over the first and the second half of the month (different
variants, different cycles, one lake). In one workspace the four run one after the other; in a
fresh one, the same four at once. Reports both wall times and their ratio (target < 1: four
writers at once finish sooner than in turn; the machine has two cores). Every run must
succeed, and the lake must hold each variant's calls once per cycle afterwards."""

from __future__ import annotations

import json
import subprocess
import time

from _common import BIN, PROJECT, arguments, interleaved, report, run, workspace

LOOP = "group:market or group:minds or group:predictions"
VARIANTS = ("placebo", "no_feedback")


# In turns (sequence, at once, sequence, ...) in fresh workspaces, the median of each reported:
# this VM's runs vary by a fifth, and another process on its two cores weighs on one side only.
REPEATS = 3


def main() -> None:
    args = arguments(__doc__)
    times = 1 if args.tiny else REPEATS
    runs: list[int] = []

    def timed(concurrent: bool) -> float:
        seconds, n = _once(concurrent, args.tiny)
        runs.append(n)
        return seconds

    in_turn, at_once = interleaved(times, lambda: timed(False), lambda: timed(True))
    n = runs[0]
    seq, con = sorted(in_turn)[len(in_turn) // 2], sorted(at_once)[len(at_once) // 2]
    print(
        f"four variant runs over {n} cycles on one lake: in sequence "
        f"{', '.join(f'{t:.1f}' for t in in_turn)} s, at once "
        f"{', '.join(f'{t:.1f}' for t in at_once)} s"
    )
    report(
        "lake_variants",
        con,
        f"s for four concurrent variant runs over {n} cycles (median of {times})",
        con / seq,
        "the same four in sequence; target < 1",
    )


def _once(at_once: bool, tiny: bool) -> tuple[float, int]:
    with workspace(lake=True, WORKSHOP_START="2025-01-02") as (env, _tmp):
        from workshop_dagster.config.settings import DEFAULT_CYCLE_CRON, DEFAULT_CYCLE_SKIP
        from workshop_dagster.lib.partitions import build_cycle_partitions

        keys = build_cycle_partitions(
            "2025-01-02", DEFAULT_CYCLE_CRON, "America/New_York", None, DEFAULT_CYCLE_SKIP
        )
        span = [k for k in keys.get_partition_keys() if k.startswith("2025-01")]
        span = span[:8] if tiny else span
        dagster = str(BIN / "dagster")
        module = ["-m", "workshop_dagster.definitions"]
        run(
            [dagster, "asset", "materialize", *module, "--select", LOOP]
            + ["--partition-range", f"{span[0]}...{span[-1]}"],
            env,
        )
        half = len(span) // 2
        commands = [
            [dagster, "job", "execute", *module, "-j", f"{variant}_cycle", "--tags", _range(part)]
            for variant in VARIANTS
            for part in (span[:half], span[half:])
        ]
        if at_once:
            seconds = _all_at_once(commands, env)
        else:
            seconds = sum(run(command, env) for command in commands)
        _every_call_once(env, len(span))
    return seconds, len(span)


def _range(keys: list[str]) -> str:
    return json.dumps(
        {
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        }
    )


def _all_at_once(commands: list[list[str]], env: dict[str, str]) -> float:
    started = time.perf_counter()
    procs = [
        subprocess.Popen(c, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for c in commands
    ]
    outputs = [p.communicate()[0].decode(errors="replace") for p in procs]
    seconds = time.perf_counter() - started
    for command, proc, out in zip(commands, procs, outputs, strict=True):
        if proc.returncode != 0:
            raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{out[-3000:]}")
    retried = sum(out.count("STEP_UP_FOR_RETRY") for out in outputs)
    print(f"at once: {retried} step(s) refused at commit by another writer and run again")
    return seconds


def _every_call_once(env: dict[str, str], cycles: int) -> None:
    """Each variant's synthesis call once per cycle, and its chain one chain: a concurrent
    write lost or doubled would show here."""
    check = (
        "import os, sys\n"
        "from workshop_dagster.store import warehouse\n"
        "from workshop_dagster.commands.verify import verify_warehouse\n"
        "db = os.environ['WORKSHOP_DB']\n"
        "with warehouse.read_only(db) as conn:\n"
        "    for v in sys.argv[1:]:\n"
        "        n, k = conn.execute(\n"
        '            f"select count(*), count(distinct cycle_key) from {v}.predictions "\n'
        "            \"where source = 'synthesis'\").fetchone()\n"
        "        print(v, n, k)\n"
        "for v in sys.argv[1:]:\n"
        "    assert verify_warehouse(db, schema=v) == [], v\n"
    )
    done = subprocess.run(
        [str(BIN / "python"), "-c", check, *VARIANTS],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the lake after the runs does not verify:\n{done.stderr[-3000:]}")
    for line in done.stdout.splitlines():
        variant, n, distinct = line.split()
        if not int(n) == int(distinct) == cycles:
            raise SystemExit(f"{variant}: {n} synthesis calls over {distinct} of {cycles} cycles")


if __name__ == "__main__":
    main()
