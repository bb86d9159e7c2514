"""Load: `dagster definitions validate` of the project vs a bare project with as many trivial
assets (median of 5 each). Every run, sensor tick and UI reload pays this."""

from __future__ import annotations

from _common import BIN, arguments, bare_project, median_of, report, run, workspace


def main() -> None:
    args = arguments(__doc__)
    times = 1 if args.tiny else 5
    with workspace() as (env, tmp):
        from workshop_dagster.definitions import defs

        n_assets = len(list(defs.resolve_asset_graph().get_all_asset_keys()))
        module = bare_project(tmp, n_assets)
        bare_env = env | {"PYTHONPATH": str(tmp)}
        project = median_of(
            times,
            lambda: run(
                [
                    str(BIN / "dagster"),
                    "definitions",
                    "validate",
                    "-m",
                    "workshop_dagster.definitions",
                ],
                env,
            ),
        )
        bare = median_of(
            times,
            lambda: run(
                [str(BIN / "dagster"), "definitions", "validate", "-m", module], bare_env, tmp
            ),
        )
    print(
        f"project ({n_assets} assets): {project:.2f} s   bare ({n_assets} trivial assets): {bare:.2f} s"
    )
    report("load", project, "s", project / bare, "bare project; target <= 1.3")


if __name__ == "__main__":
    main()
