"""`make copy-to-lake`: copy a DuckDB file warehouse into the empty DuckLake the settings name
(WORKSHOP_DB and WORKSHOP_LAKE_DATA), every table of every schema, in one transaction
(`store/copy_to_lake.py`); then verify the lake's sealed records as `make verify` does.

A lake that already holds a table is refused (a copy never merges two records), and the file is
only read, under the file lock that writers take, so no run changes it mid-copy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..store import lake, warehouse
from ..store.copy_to_lake import CopyRefused, copy_file_into_lake


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--from",
        dest="file",
        default=None,
        help="the file warehouse to copy (default: WORKSHOP_DATA_DIR's workshop.duckdb)",
    )
    args = parser.parse_args(argv)
    from ..config.settings import load_settings
    from .verify import check_warehouse, variant_records

    settings = load_settings()
    file = Path(args.file or settings.data_dir / "workshop.duckdb").expanduser()
    try:
        counts = copy_file_into_lake(file, str(settings.database))
    except (CopyRefused, lake.LakeUnavailable, warehouse.WarehouseUnreadable) as exc:
        print(f"copy-to-lake: {exc}", file=sys.stderr)
        return 2
    print(f"copied {len(counts)} tables, {sum(counts.values()):,} rows, from {file} into the lake")
    problems = []
    for schema in ["main", *variant_records(settings.database)]:
        checked = check_warehouse(settings.database, None, schema)
        problems += checked.problems
        print(f"{checked.name}: {'verified' if not checked.problems else checked.problems[0]}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
