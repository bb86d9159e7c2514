"""The sealed record: a hash chain over every cycle's memo and calls, written before the outcome
is known, so nobody (this loop included) can quietly rewrite what was said.

A cycle's *content* is its calls as parsed (source, status, subject, direction, timeframe,
confidence, band) and the SHA-256 of its memo text, as canonical JSON; its `content_hash` is the
SHA-256 of that. `record_seals` is an append-only log: each row (seq, cycle, kind, content hash,
the previous row's seal) is sealed by the SHA-256 of those fields, so changing, removing or
reordering any row breaks every seal after it. A cycle sealed again with the same content adds
nothing; with other content (a changed prompt, model or rule) it is refused unless the run asks
to amend (run tag `workshop/amend=true`), and then the new content is appended as an
`amendment`: the old seal, the new one and the amendment all stay visible.

`python -m workshop_dagster.commands.verify` recomputes the chain and every cycle's content, from the
warehouse and from the published site, and names the first cycle that differs or is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

import duckdb
import pandas as pd

from ..store import record_seals as table
from ..store.records import records_by
from . import record_head
from .signing import Signer, key_id

GENESIS = "0" * 64
CALL_FIELDS = (
    "source",
    "parse_status",
    "subject",
    "direction",
    "timeframe",
    "confidence",
    "band_low_pct",
    "band_high_pct",
)
# A chain row's fields, in order; the seal covers all but the content (through its hash).
CHAIN_COLUMNS = ("seq", "cycle_key", "kind", "content_hash", "prev_seal", "seal", "content_json")
# Optional signatures (predictions/signing.py): a row's signature of its seal and the id of the
# key that made it (the store adds the columns to a chain made before them).
SIGNATURE_COLUMNS = table.SIGNATURE_COLUMNS


def public_keys(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> dict[str, str]:
    """key id -> public key PEM of every key that signed a seal (of the variant in `schema`)."""
    table.ensure(conn, schema)
    return table.public_keys(conn, schema)


class SealedRecordError(RuntimeError):
    """A sealed cycle would be rewritten without the explicit amend flag, or a record would
    take the calls of another variant than its own."""


def claim_variant(conn: duckdb.DuckDBPyConnection, schema: str, variant: str) -> None:
    """Bind the record in `schema` to one variant, or refuse another's calls: two variants in
    one record would make one track record, calibration and rules of two configurations. A
    record sealed before variants were stamped is the loop's own (`baseline`)."""
    held = table.claimed_variant(conn, schema, variant)
    if held != variant:
        where = "the loop's record (schema main)" if schema == "main" else f"schema {schema}"
        raise SealedRecordError(
            f"{where} holds the calls of variant {held!r}; a run of variant {variant!r} would "
            "mix two configurations in one record, calibration and rules. Run it beside the "
            f"loop (WORKSHOP_VARIANTS={variant}, keeping WORKSHOP_VARIANT={held}), or give it "
            "its own folder (WORKSHOP_DATA_DIR)"
        )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def memo_hash(body: str) -> str:
    """The hash a seal covers for a memo's text."""
    return _sha(body)


def _value(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, float):
        return round(v, 6)
    return v if isinstance(v, (int, str, bool)) else str(v)


def _call(c: Mapping) -> dict:
    row = {f: _value(c.get(f)) for f in CALL_FIELDS}
    # The number the source stated, beside the probability it is scored at; a call sealed
    # before the two were told apart has none, and its content stays what was sealed.
    conviction = _value(c.get("conviction"))
    if conviction is not None:
        row["conviction"] = conviction
    # The standing call a call says again (predictions/standing_calls.py): sealed with it, so
    # a restatement cannot later be passed off as a new call, nor a new call as one. A call
    # sealed before restatements were told apart has none, and its content stays as sealed.
    restates = _value(c.get("restates"))
    if isinstance(restates, str) and restates:
        row["restates"] = restates
    return row


def cycle_content(cycle_key: str, memo_body: str, calls: Iterable[Mapping]) -> str:
    """The canonical JSON a cycle's seal covers: its calls as parsed (with the number each
    source stated) and its memo's hash."""
    rows = sorted((_call(c) for c in calls), key=lambda r: json.dumps(r, sort_keys=True))
    doc = {"cycle_key": cycle_key, "calls": rows, "memo_sha256": memo_hash(memo_body)}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def seal_of(seq: int, cycle_key: str, kind: str, content_hash: str, prev_seal: str) -> str:
    return _sha(f"{seq}|{cycle_key}|{kind}|{content_hash}|{prev_seal}")


def contents(memo: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, str]:
    """cycle_key -> canonical content, for the cycles of `memo`."""
    calls = records_by(predictions, "cycle_key")
    return {
        key: cycle_content(key, body, calls.get(key, []))
        for key, body in zip(memo["cycle_key"], memo["body"], strict=True)
    }


def chain(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> pd.DataFrame:
    """The chain of a variant (each variant's record is sealed in its own schema)."""
    table.ensure(conn, schema)
    return table.chain(conn, schema)


def seal(
    conn: duckdb.DuckDBPyConnection,
    by_cycle: Mapping[str, str],
    amend: bool = False,
    signer: Signer | None = None,
    schema: str = "main",
) -> pd.Series:
    """Seal each cycle's content (in cycle order); returns cycle_key -> seal of its latest row
    (reading only those cycles' latest rows and the chain's last: a run costs the same however
    long the record).
    Refuses, naming the first such cycle, to change a sealed cycle's content unless `amend`.
    With a `signer`, each new row is signed and its public key recorded. `schema`: the
    variant's, whose chain this is."""
    table.ensure(conn, schema)
    latest = table.latest_of(conn, list(by_cycle), schema).set_index("cycle_key")
    tail = table.tail(conn, schema)
    changed = [
        k
        for k in sorted(by_cycle)
        if k in latest.index and latest.at[k, "content_json"] != by_cycle[k]
    ]
    if changed and not amend:
        raise SealedRecordError(
            f"cycle {changed[0]} is sealed with other content ({len(changed)} cycle(s) of this "
            "run would change: a prompt, model, rule or data changed since it was written); "
            "the record is not rewritten. To publish the new content as a visible amendment, "
            "run again with the run tag workshop/amend=true"
        )
    seq = tail[0] + 1 if tail else 1
    prev = tail[1] if tail else GENESIS
    rows = []
    for key in sorted(by_cycle):
        if key in latest.index and latest.at[key, "content_json"] == by_cycle[key]:
            continue
        kind = "amendment" if key in latest.index else "seal"
        content_hash = _sha(by_cycle[key])
        sealed = seal_of(seq, key, kind, content_hash, prev)
        rows.append((seq, key, kind, content_hash, prev, sealed, by_cycle[key]))
        prev, seq = sealed, seq + 1
    if rows:
        frame = pd.DataFrame(rows, columns=list(CHAIN_COLUMNS))
        frame["signature"], frame["key_id"] = None, None
        if signer is not None:
            pem = signer.public_pem()
            frame["signature"] = signer.sign(frame["seal"].tolist())
            frame["key_id"] = key_id(pem)
            table.keep_key(conn, schema, key_id(pem), pem)
        table.append(conn, frame, schema)
    last = (rows[-1][0], rows[-1][5], rows[-1][1]) if rows else tail
    if last is not None:
        _keep_head(conn, schema, record_head.Head(int(last[0]), last[1], last[2]), signer)
    sealed = latest["seal"].to_dict()
    sealed.update({r[1]: r[5] for r in rows})
    return pd.Series(sealed, name="seal")


def _keep_head(
    conn: duckdb.DuckDBPyConnection, schema: str, head: record_head.Head, signer: Signer | None
) -> None:
    """Record the chain's head beside it (signed with the record's key, if any), unless the
    one recorded is this head already: in the transaction that appended the seals."""
    held = record_head.stored(conn, schema)
    if isinstance(held, record_head.Head):
        same = (held.seq, held.seal, held.cycle_key) == (head.seq, head.seal, head.cycle_key)
        if same and (signer is None or held.signature):
            return
    if signer is not None:
        pem = signer.public_pem()
        table.keep_key(conn, schema, key_id(pem), pem)
    record_head.store(conn, schema, head.signed(signer))


def out_of_order(log: pd.DataFrame) -> list[tuple[str, str, int, str]]:
    """The backfills sealed out of time order: each run of consecutive seals of cycles earlier
    than a cycle sealed before them, as (its first cycle, its last, how many, the latest cycle
    sealed before it). The later cycles kept the record they saw when they were sealed."""
    runs: list[list] = []
    latest, open_run = None, False
    for key, kind in zip(
        log.sort_values("seq")["cycle_key"], log.sort_values("seq")["kind"], strict=True
    ):
        if kind == "seal" and latest is not None and key < latest:
            if open_run:
                run = runs[-1]
                run[0], run[1], run[2] = min(run[0], key), max(run[1], key), run[2] + 1
            else:
                runs.append([key, key, 1, latest])
                open_run = True
        else:
            open_run = False
        latest = key if latest is None else max(latest, key)
    return [tuple(r) for r in runs]


def verify_chain(log: pd.DataFrame) -> str | None:
    """The first problem in a chain of seal rows, or None."""
    prev = GENESIS
    for i, row in enumerate(log.sort_values("seq").to_dict("records"), start=1):
        if int(row["seq"]) != i:
            return (
                f"seal {i} is missing (the chain jumps to {row['seq']} at cycle {row['cycle_key']})"
            )
        if row["prev_seal"] != prev:
            return f"cycle {row['cycle_key']}: seal {i} does not follow seal {i - 1}"
        if _sha(row["content_json"]) != row["content_hash"]:
            return f"cycle {row['cycle_key']}: its sealed content does not match its hash"
        expected = seal_of(i, row["cycle_key"], row["kind"], row["content_hash"], prev)
        if row["seal"] != expected:
            return f"cycle {row['cycle_key']}: seal {i} is not the hash of its fields"
        prev = row["seal"]
    return None


def verify_contents(log: pd.DataFrame, current: Mapping[str, str]) -> str | None:
    """The first cycle whose content now differs from its latest seal, or is missing, or is
    present but was never sealed."""
    latest = log.sort_values("seq").drop_duplicates("cycle_key", keep="last")
    sealed = dict(zip(latest["cycle_key"], latest["content_json"], strict=True))
    for key in sorted(set(sealed) | set(current)):
        if key not in current:
            return f"cycle {key} is sealed but missing"
        if key not in sealed:
            return (
                f"cycle {key} was never sealed (written before the record was sealed, or its "
                "seal was removed: a run of the cycle seals what it says then)"
            )
        if current[key] != sealed[key]:
            mine, theirs = json.loads(current[key]), json.loads(sealed[key])
            what = "its memo" if mine["memo_sha256"] != theirs["memo_sha256"] else "its calls"
            return f"cycle {key}: {what} differ from what was sealed"
    return None
