"""Load: `dagster definitions validate` of the project vs a bare project with as many trivial
assets (median of 5 each, taken in turns). Every run, sensor tick and UI reload pays this."""

from __future__ import annotations

import statistics

from _common import BIN, arguments, bare_project, interleaved, report, run, workspace


def main() -> None:
    args = arguments(__doc__)
    times = 1 if args.tiny else 5
    with workspace() as (env, tmp):
        from workshop_dagster.definitions import defs

        n_assets = len(list(defs.resolve_asset_graph().get_all_asset_keys()))
        module = bare_project(tmp, n_assets)
        bare_env = env | {"PYTHONPATH": str(tmp)}
        projects, bares = interleaved(
            times,
            lambda: run(
                [str(BIN / "dagster"), "definitions", "validate"]
                + ["-m", "workshop_dagster.definitions"],
                env,
            ),
            lambda: run(
                [str(BIN / "dagster"), "definitions", "validate", "-m", module], bare_env, tmp
            ),
        )
        project, bare = statistics.median(projects), statistics.median(bares)
    print(
        f"project ({n_assets} assets): {project:.2f} s   bare ({n_assets} trivial assets): {bare:.2f} s"
    )
    report("load", project, "s", project / bare, "bare project; target <= 1.3")


if __name__ == "__main__":
    main()
