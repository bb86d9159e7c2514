"""`python -m workshop_dagster.verify` (`make verify`): recompute the sealed record and name the
first cycle whose memo or calls differ from what was sealed, or are missing.

From the warehouse: the `record_seals` chain, and each cycle's content recomputed from `memo`
and `predictions`; and the same for each side variant's record, in its own schema. From the published site (`--site`, default the data folder's): its
`record/record.jsonl` chain, and each cycle's memo as published (`record/memos/<cycle>.md`)
against the memo hash its seal covers. Where the seals are signed (`WORKSHOP_SIGNING_KEY`),
every signature from the first signed seal on is checked against the public keys the record
publishes, or, with `--public-key FILE`, against that key only (one you obtained on your own:
a key published beside the record proves only that the two agree). Exit status 0 when
everything verifies, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .predictions import seals


def _signatures(log: pd.DataFrame, keys: dict[str, str], required: str | None) -> list[str]:
    from .predictions.signing import verify_signatures

    if "signature" not in log.columns:
        log = log.assign(signature=None, key_id=None)
    problem = verify_signatures(log.to_dict("records"), keys, required)
    return [problem] if problem else []


def variant_records(database: Path) -> list[str]:
    """The side variants whose sealed records the warehouse holds (their schemas)."""
    from . import warehouse

    if not Path(database).exists():
        return []
    with warehouse.connect(database, transaction=False) as conn:
        rows = conn.execute(
            "select distinct table_schema from information_schema.tables "
            "where table_name = 'record_seals' and table_schema <> 'main' order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def verify_warehouse(
    database: Path, public_key: str | None = None, schema: str = "main"
) -> list[str]:
    """The problems of one record: the loop's (`main`) or a side variant's (its schema)."""
    from . import warehouse

    if not Path(database).exists():
        return [f"no warehouse at {database}"]
    with warehouse.connect(database, transaction=False) as conn:
        if not warehouse.table_exists(conn, "record_seals", schema):
            return ["the warehouse holds no sealed record (no cycle has been deliberated)"]
        log = conn.execute(f"select * from {schema}.record_seals order by seq").fetchdf()
        keys = (
            dict(
                conn.execute(
                    f"select key_id, public_pem from {schema}.record_signing_keys"
                ).fetchall()
            )
            if warehouse.table_exists(conn, "record_signing_keys", schema)
            else {}
        )
        memo = conn.execute(f"select cycle_key, body from {schema}.memo").fetchdf()
        predictions = conn.execute(f"select * from {schema}.predictions").fetchdf()
    problems = [p for p in (seals.verify_chain(log),) if p]
    problem = seals.verify_contents(log, seals.contents(memo, predictions))
    return problems + ([problem] if problem else []) + _signatures(log, keys, public_key)


def verify_site(site: Path, public_key: str | None = None) -> list[str]:
    from .publish.posts import post_slug

    record = site / "record" / "record.jsonl"
    if not record.exists():
        return [f"{record} is missing: the site publishes no record"]
    rows = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    log = pd.DataFrame(rows, columns=[*seals.CHAIN_COLUMNS, *seals.SIGNATURE_COLUMNS])
    problem = seals.verify_chain(log)
    if problem:
        return [problem]
    keys_file = site / "record" / "public_keys.json"
    keys = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    signed = _signatures(log, keys, public_key)
    if signed:
        return signed
    latest = log.sort_values("seq").drop_duplicates("cycle_key", keep="last")
    for key, content in zip(latest["cycle_key"], latest["content_json"], strict=True):
        memo = site / "record" / "memos" / f"{post_slug(key)}.md"
        if not memo.exists():
            return [f"cycle {key} is sealed but its published memo is missing ({memo.name})"]
        if seals.memo_hash(memo.read_text(encoding="utf-8")) != json.loads(content)["memo_sha256"]:
            return [f"cycle {key}: its published memo differs from what was sealed"]
    return []


def main(argv: list[str] | None = None) -> int:
    from .settings import load_settings

    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m workshop_dagster.verify", description=__doc__)
    parser.add_argument(
        "--site", default=str(settings.data_dir / "site"), help="the published site"
    )
    parser.add_argument("--no-site", action="store_true", help="verify the warehouse only")
    parser.add_argument(
        "--public-key",
        help="a PEM public key obtained on its own: every signed seal must be signed by it",
    )
    args = parser.parse_args(argv)
    public_key = None
    if args.public_key:
        try:
            public_key = Path(args.public_key).read_text()
        except OSError as exc:
            parser.error(f"--public-key {args.public_key}: {exc.strerror}")
    found = verify_warehouse(settings.database, public_key)
    where = [("warehouse", found)]
    # Each side variant's record, sealed in its own schema (defs/variants/).
    for variant in variant_records(settings.database):
        where.append(
            (
                f"warehouse, variant {variant}",
                verify_warehouse(settings.database, public_key, variant),
            )
        )
    if not args.no_site:
        where.append(("site", verify_site(Path(args.site), public_key)))
    ok = True
    for name, problems in where:
        if problems:
            ok = False
            print(f"{name}: NOT VERIFIED: " + "; ".join(problems))
        else:
            print(f"{name}: verified")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
