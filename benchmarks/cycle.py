"""Cycle: one offline cycle, every asset of the `cycle` job with its checks, through the CLI, vs
one trivial asset through the CLI (median of 5 each, taken in turns, in one project, as a user
runs cycles one after another: the first run starts the shared great_expectations worker, the
next ones find it warm; each run's time is printed)."""

from __future__ import annotations

import json
import statistics

from _common import BIN, arguments, bare_project, interleaved, report, run, workspace

CYCLES = [f"2026-03-0{day}-19:15" for day in range(2, 7)]


def main() -> None:
    args = arguments(__doc__)
    times = 1 if args.tiny else len(CYCLES)
    cycles = iter(CYCLES)
    with workspace() as (env, tmp):
        module = bare_project(tmp, 1)
        bare_env = env | {"PYTHONPATH": str(tmp)}

        def one_cycle() -> float:
            tags = json.dumps({"dagster/partition": next(cycles)})
            return run(
                [str(BIN / "dagster"), "job", "execute", "-m", "workshop_dagster.definitions"]
                + ["-j", "cycle", "--tags", tags],
                env,
            )

        def trivial() -> float:
            return run(
                [str(BIN / "dagster"), "asset", "materialize", "-m", module, "--select", "asset_0"],
                bare_env,
                tmp,
            )

        runs, bares = interleaved(times, one_cycle, trivial)
        cycle, bare = statistics.median(runs), statistics.median(bares)
    print("cycle runs: " + ", ".join(f"{t:.2f} s" for t in runs) + " (the first one cold)")
    print(f"one cycle (14 assets, 4 checks): {cycle:.2f} s   one trivial asset: {bare:.2f} s")
    report("cycle", cycle, "s", cycle / bare, "one trivial asset through the CLI; target <= 1.5")


if __name__ == "__main__":
    main()
