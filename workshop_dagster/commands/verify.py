"""`python -m workshop_dagster.commands.verify` (`make verify`): recompute the sealed record and name the
first cycle whose memo or calls differ from what was sealed, or are missing, and any sign that
the record's latest seals were withdrawn.

From the warehouse: each record's `record_seals` chain (the loop's, and each side variant's in
its own schema), each cycle's content recomputed from `memo` and `predictions`, and the head
recorded beside the chain (`record_head`). From the published site (`--site`, default the data
folder's): its `record/record.jsonl` chain and `record/head.json`, each cycle's memo as
published (`record/memos/<cycle>.txt`) against the hash its seal covers, each post's page
(`posts/*.html`: its seal and its memo, re-rendered from the record) and the index (the head
and the calls it lists). Then the places against each other: the site's chain must be the
warehouse's (it may lag, never lead); the Dagster instance's record of the head each
deliberation run left (read from `DAGSTER_HOME`) must still be in the chain; and with
`--head SEAL`, a seal you saw and noted must still be there.

Signatures (`WORKSHOP_SIGNING_KEY`): from the first signed seal on, every seal and the heads
must be signed, checked against the public key you hold: `--public-key FILE`, or the public
half of `WORKSHOP_SIGNING_KEY` where it is set. With neither, they are checked against the key
the record itself publishes, which proves only that the record and its key agree (a forger
replaces both), and verify says so. Exit status 0 when everything verifies, 1 otherwise.
docs/architecture.md ("What the seal holds against") says what each check catches.

(Over 350 lines: three places (warehouse, site, instance) held against one chain, each check
naming what it found.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..predictions import record_head, seals


@dataclass
class Checked:
    """What one place verified: its problems (none: verified) and what was checked."""

    name: str
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    log: pd.DataFrame | None = None
    skipped: str = ""  # why nothing could be checked here (not a failure, not a pass)

    def line(self) -> str:
        if self.problems:
            return f"{self.name}: NOT VERIFIED: " + "; ".join(self.problems)
        if self.skipped:
            return f"{self.name}: not checked: {self.skipped}"
        return f"{self.name}: verified" + (": " + "; ".join(self.facts) if self.facts else "")


def _signatures(log: pd.DataFrame, keys: dict[str, str], required: str | None) -> list[str]:
    from ..predictions.signing import verify_signatures

    if "signature" not in log.columns:
        log = log.assign(signature=None, key_id=None)
    problem = verify_signatures(log.to_dict("records"), keys, required)
    return [problem] if problem else []


def _chain_facts(log: pd.DataFrame, required: str | None) -> list[str]:
    """What a verified chain holds, in a reader's words."""
    if not len(log):
        return ["no seal yet"]
    amendments = int((log["kind"] == "amendment").sum())
    head = record_head.head_of(log)
    signed = int(log["signature"].notna().sum()) if "signature" in log.columns else 0
    facts = [
        f"{log['cycle_key'].nunique()} cycles, {len(log)} seals ({amendments} amendments), "
        f"chain intact to its head {head}"
    ]
    if signed:
        against = "the key you hold" if required else "the key the record publishes"
        facts.append(f"{signed} seals signed, checked against {against}")
    # A backfill of cycles earlier than sealed ones: accepted, and said (minds/published.py).
    for first, last, n, after in seals.out_of_order(log):
        facts.append(
            f"backfilled out of time order: {first} .. {last} ({n} cycle(s), sealed after "
            f"{after}; the later cycles kept the record they were sealed with)"
        )
    return facts


def variant_records(database: Path) -> list[str]:
    """The side variants whose sealed records the warehouse holds (their schemas)."""
    from ..store import warehouse

    if not warehouse.exists(database):
        return []
    from ..store import record_seals

    with warehouse.read_only(database) as conn:
        return [s for s in record_seals.schemas_with_a_record(conn) if s != "main"]


def check_warehouse(database: Path, public_key: str | None = None, schema: str = "main") -> Checked:
    """One record of the warehouse: the loop's (`main`) or a side variant's (its schema)."""
    from ..store import asset_rows, record_seals, warehouse

    name = "warehouse" if schema == "main" else f"warehouse, variant {schema}"
    if not warehouse.exists(database):
        return Checked(name, [f"no warehouse at {database}"])
    with warehouse.read_only(database) as conn:
        if not record_seals.has_record(conn, schema):
            return Checked(
                name, ["the warehouse holds no sealed record (no cycle has been deliberated)"]
            )
        log = record_seals.chain(conn, schema)
        keys = record_seals.public_keys(conn, schema)
        head = record_head.stored(conn, schema)
        memo = asset_rows.whole(conn, "memo", schema).reindex(columns=["cycle_key", "body"])
        predictions = asset_rows.whole(conn, "predictions", schema)
    if "signature" not in log.columns:
        log = log.assign(signature=None, key_id=None)
    problems = [p for p in (seals.verify_chain(log),) if p]
    problem = seals.verify_contents(log, seals.contents(memo, predictions))
    problems += [problem] if problem else []
    problems += _signatures(log, keys, public_key)
    if isinstance(head, str):
        problems.append(head)
    else:
        where = "the warehouse's record_head"
        problem = record_head.head_problem(log, head, where, keys, public_key)
        problems += [problem] if problem else []
    return Checked(name, problems, _chain_facts(log, public_key), log)


def verify_warehouse(
    database: Path, public_key: str | None = None, schema: str = "main"
) -> list[str]:
    """The problems of one record of the warehouse (none: it verifies)."""
    return check_warehouse(database, public_key, schema).problems


def _site_log(site: Path) -> pd.DataFrame:
    record = site / "record" / "record.jsonl"
    rows = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=[*seals.CHAIN_COLUMNS, *seals.SIGNATURE_COLUMNS])


def check_site(site: Path, public_key: str | None = None) -> Checked:
    """The published record, its head, its memos, the posts' pages and the index."""
    from ..publish.posts import post_slug

    record = site / "record" / "record.jsonl"
    if not record.exists():
        return Checked("site", [f"{record} is missing: the site publishes no record"])
    log = _site_log(site)
    problem = seals.verify_chain(log)
    if problem:
        return Checked("site", [problem], log=log)
    keys_file = site / "record" / "public_keys.json"
    keys = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    problems = _signatures(log, keys, public_key)
    head_file = site / "record" / "head.json"
    head = record_head.Head.from_json(head_file.read_text()) if head_file.exists() else None
    problem = record_head.head_problem(log, head, "the site's head.json", keys, public_key)
    problems += [problem] if problem else []
    latest = log.sort_values("seq").drop_duplicates("cycle_key", keep="last")
    memos: dict[str, str] = {}
    for key, content in zip(latest["cycle_key"], latest["content_json"], strict=True):
        memo = site / "record" / "memos" / f"{post_slug(key)}.txt"
        if not memo.exists() and memo.with_suffix(".md").exists():
            memo = memo.with_suffix(".md")  # a site built by a release before the .txt memos
        if not memo.exists():
            problems.append(
                f"cycle {key} is sealed but its published memo is missing ({memo.name})"
            )
            continue
        memos[key] = memo.read_text(encoding="utf-8")
        if seals.memo_hash(memos[key]) != json.loads(content)["memo_sha256"]:
            problems.append(f"cycle {key}: its published memo differs from what was sealed")
    last = record_head.head_of(log)
    pages = _check_pages(site, latest, memos, (last.seq, last.seal) if last else None)
    problems += pages[0]
    facts = _chain_facts(log, public_key) + [
        f"{len(memos)} memos, {pages[1]} post pages and the index match their seals"
    ]
    return Checked("site", problems[:5] + _more(problems, 5), facts, log)


def _more(problems: list[str], shown: int) -> list[str]:
    return [f"and {len(problems) - shown} more"] if len(problems) > shown else []


def _check_pages(
    site: Path, latest: pd.DataFrame, memos: dict[str, str], head: tuple[int, str] | None
) -> tuple[list[str], int]:
    """The posts' pages and the index against the published chain (publish/sealed_pages.py):
    `latest` holds each cycle's latest seal row, `head` the chain's last seal."""
    from ..publish import sealed_pages

    problems = []
    rows = {r["cycle_key"]: r for r in latest.to_dict("records")}
    first = min(rows) if rows else "9999"
    pages = sorted((site / "posts").glob("*.html")) if (site / "posts").exists() else []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found = sealed_pages.BLOCK_RE.search(text)
        key = found["cycle"] if found else page.stem
        problem = sealed_pages.page_problem(text, key, rows.get(key), memos.get(key), first)
        if problem:
            problems.append(problem)
    index = site / "index.html"
    if index.exists():
        calls = {
            key: sealed_pages.call_text(sealed_pages.synthesis_call(r["content_json"]))
            for key, r in rows.items()
        }
        problems += sealed_pages.index_problems(index.read_text(encoding="utf-8"), head, calls)
    elif len(latest):
        problems.append("the site has no index.html")
    return problems, len(pages)


def verify_site(site: Path, public_key: str | None = None) -> list[str]:
    """The problems of the published site (none: it verifies)."""
    return check_site(site, public_key).problems


def cross_check(warehouse: Checked, site: Checked) -> Checked:
    """The site's chain against the warehouse's: the site may lag, never lead or differ."""
    if warehouse.log is None or site.log is None:
        return Checked("warehouse against site", skipped="one of them has no chain")
    problem, note = record_head.chain_divergence(warehouse.log, site.log)
    return Checked("warehouse against site", [problem] if problem else [], [note])


def instance_head(
    asset_key: list[str], event: str = "observation"
) -> tuple[record_head.Head | None, str]:
    """The head the instance (DAGSTER_HOME, else the data folder's: job_runs.instance_folder)
    recorded last for an asset: a deliberation run's observation of `predictions`, or the
    `site` build's materialization; (None, why) when there is none to read."""
    from ..config.settings import PROJECT_ROOT
    from .job_runs import instance_folder

    home = Path(os.environ.get("DAGSTER_HOME") or instance_folder(PROJECT_ROOT))
    if not (home / "dagster.yaml").exists():
        return None, f"no Dagster instance at {home} (DAGSTER_HOME): the instance was not read"
    import dagster as dg

    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            fetch = (
                instance.fetch_observations
                if event == "observation"
                else instance.fetch_materializations
            )
            records = fetch(dg.AssetKey(asset_key), limit=20).records
    except Exception as exc:  # noqa: BLE001 - a check that cannot run is said, not fatal
        return None, f"the instance at {home} could not be read ({type(exc).__name__}: {exc})"
    for rec in records:
        found = rec.asset_observation if event == "observation" else rec.asset_materialization
        entry = found.metadata.get("record_head") if found else None
        doc = getattr(entry, "value", None)
        if isinstance(doc, dict) and {"seq", "seal", "cycle_key"} <= set(doc):
            head = record_head.Head(int(doc["seq"]), str(doc["seal"]), str(doc["cycle_key"]))
            return head, f"the instance (run {rec.run_id[:8]})"
    return None, "the instance records no head for it yet"


def check_instance(place: Checked, asset_key: list[str], event: str = "observation") -> Checked:
    """The head the instance recorded (after the last deliberation run, or the last site build)
    still in the place's chain: a record trimmed below it, or a site rolled back, is named."""
    name = f"{place.name} against the Dagster instance"
    head, where = instance_head(asset_key, event)
    if head is None or place.log is None:
        return Checked(name, skipped=where)
    log = place.log
    at = log[log["seq"].astype(int) == head.seq]
    if not len(at) or at["seal"].iloc[0] != head.seal:
        what = "run" if event == "observation" else "last build of the site"
        return Checked(
            name,
            [
                f"{where} recorded the head {head} after its {what}, and the chain "
                + ("ends before it" if not len(at) else "holds another seal there")
                + ": seals were removed or rewritten since"
            ],
        )
    return Checked(name, facts=[f"{where} recorded the head {head}; the chain holds it"])


def check_pin(places: list[Checked], pin: str) -> Checked:
    """A seal the reader noted, in every chain read."""
    problems, facts = [], []
    for place in places:
        if place.log is None:
            continue
        seq, problem = record_head.find_pin(place.log, pin)
        if problem:
            problems.append(f"{place.name}: {problem}")
        else:
            facts.append(f"{place.name} holds it as seal {seq} of {len(place.log)}")
    return Checked(f"pinned head {pin[:16]}", problems, facts)


def _held_key(args_key: str | None, settings) -> tuple[str | None, str | None]:
    """The public key the reader holds: --public-key, else WORKSHOP_SIGNING_KEY's public half."""
    if args_key:
        return Path(args_key).read_text(), args_key
    if settings.signing_key:
        from ..predictions.signing import Signer

        return Signer(Path(settings.signing_key)).public_pem(), "WORKSHOP_SIGNING_KEY"
    return None, None


def main(argv: list[str] | None = None) -> int:
    from ..config.settings import load_settings

    settings = load_settings()
    parser = argparse.ArgumentParser(
        prog="python -m workshop_dagster.commands.verify", description=__doc__
    )
    parser.add_argument(
        "--site", default=str(settings.data_dir / "site"), help="the published site"
    )
    parser.add_argument("--no-site", action="store_true", help="verify the warehouse only")
    parser.add_argument(
        "--public-key",
        help="a PEM public key obtained on its own: every signed seal must be signed by it",
    )
    parser.add_argument(
        "--head",
        help="a seal you saw (its hex digits, at least 16): it must still be in the record",
    )
    args = parser.parse_args(argv)
    try:
        public_key, held = _held_key(args.public_key, settings)
    except OSError as exc:
        parser.error(f"--public-key {args.public_key}: {exc.strerror}")
    print(
        f"signatures are checked against the key you hold ({held})"
        if held
        else "no key given (--public-key FILE): signatures, if any, are checked against the "
        "key the record publishes, which proves only that the record and its key agree"
    )
    main_record = check_warehouse(settings.database, public_key)
    places = [main_record]
    checks = [main_record, check_instance(main_record, ["predictions"])]
    # Each side variant's record, sealed in its own schema (defs/variants/).
    for variant in variant_records(settings.database):
        record = check_warehouse(settings.database, public_key, variant)
        places.append(record)
        checks += [record, check_instance(record, [variant, "predictions"])]
    if not args.no_site:
        site = check_site(Path(args.site), public_key)
        places.append(site)
        checks += [site, check_instance(site, ["site"], "materialization")]
        checks.append(cross_check(main_record, site))
    if args.head:
        checks.append(check_pin(places, args.head))
    for checked in checks:
        print(checked.line())
    return 1 if any(c.problems for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
