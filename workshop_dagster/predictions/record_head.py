"""The head of the sealed record: where the chain ends, said where a trim would show.

A hash chain proves that no row was changed or removed *before* its last row; nothing in it
says which row is the last, so deleting the latest seals (and their memos and calls) leaves a
shorter chain that still verifies. The head anchors the end:

- `record_head` in the warehouse, one row per record, rewritten in the transaction that appends
  seals (`seals.seal`), and `record/head.json` on the site, both signed with the record's key
  when `WORKSHOP_SIGNING_KEY` is set (a forged head needs the private key; an old head can
  still be put back by someone who kept it, which the other anchors catch);
- the warehouse's chain and the site's, compared: the site may lag (it is rebuilt by the
  rollups), never lead; each post's page carries its seal (`publish/sealed_pages.py`);
- the Dagster instance: each deliberation run's `predictions` metadata records the head it
  left (`verify` reads it back from the event log);
- the reader: `verify --head SEAL` checks that a seal they saw is still in the chain.

No Dagster here; `commands/verify.py` reads the places and reports what these functions find.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from .signing import Signer

# The shortest seal prefix `--head` accepts (64 bits: no two seals of a record share it).
MIN_PIN_DIGITS = 16


@dataclass(frozen=True)
class Head:
    """The last row of a chain: its position, its seal and its cycle, optionally signed."""

    seq: int
    seal: str
    cycle_key: str
    key_id: str | None = None
    signature: str | None = None

    def message(self) -> str:
        """What a head's signature signs: it names itself a head, so a row's own signature
        (of its seal alone) cannot pass for one."""
        return f"workshop-record-head|{self.seq}|{self.seal}|{self.cycle_key}"

    def signed(self, signer: Signer | None) -> Head:
        if signer is None:
            return replace(self, key_id=None, signature=None)
        from .signing import key_id

        return replace(
            self, key_id=key_id(signer.public_pem()), signature=signer.sign([self.message()])[0]
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Head:
        doc = json.loads(text)
        return cls(
            seq=int(doc["seq"]),
            seal=str(doc["seal"]),
            cycle_key=str(doc["cycle_key"]),
            key_id=doc.get("key_id"),
            signature=doc.get("signature"),
        )

    def __str__(self) -> str:
        return f"seal {self.seq} ({self.seal[:16]}…, cycle {self.cycle_key})"


def head_of(log: pd.DataFrame) -> Head | None:
    """The last row of a chain of seal rows (None for an empty chain)."""
    if not len(log):
        return None
    last = log.sort_values("seq").iloc[-1]
    return Head(int(last["seq"]), str(last["seal"]), str(last["cycle_key"]))


def store(conn: duckdb.DuckDBPyConnection, schema: str, head: Head) -> None:
    """Replace the record's head (in the caller's transaction: the one that appended the seals)."""
    from ..store import record_head as table

    table.replace(conn, schema, (head.seq, head.seal, head.cycle_key, head.key_id, head.signature))


def stored(conn: duckdb.DuckDBPyConnection, schema: str = "main") -> Head | None | str:
    """The head the warehouse records for a record; None when it has none; a problem (str) when
    the table holds other than one row."""
    from ..store import record_head as table

    rows = table.rows(conn, schema)
    if rows is None:
        return None
    if len(rows) != 1:
        return f"the record's head table holds {len(rows)} rows, not one"
    seq, seal, cycle_key, kid, signature = rows[0]
    return Head(int(seq), seal, cycle_key, kid, signature)


def head_problem(
    log: pd.DataFrame,
    head: Head | None,
    where: str,
    keys: dict[str, str],
    required: str | None,
) -> str | None:
    """What is wrong between a chain and the head recorded for it (`where` says where the head
    was read), or None. A chain with signed seals needs a signed head, by `required` (a PEM the
    reader holds) when given, else by a key the record publishes."""
    last = head_of(log)
    if head is None:
        if last is None:
            return None
        return (
            f"{where} records no head for a chain of {last.seq} seals: it was removed, or the "
            "record was sealed by a release before heads (run the latest cycle again: it "
            "records the head and seals nothing new)"
        )
    if last is None or head.seq > last.seq:
        ends = f"seal {last.seq}" if last else "no seal"
        return (
            f"{where} says the record ends at {head}, but the chain ends at {ends}: "
            "its latest seals were removed"
        )
    if head.seq < last.seq:
        return (
            f"the chain runs past the head {where} records ({head}) to seal {last.seq}: "
            "seals were appended without their head"
        )
    if head.seal != last.seal or head.cycle_key != last.cycle_key:
        return f"{where} names {head}, which is not the chain's last seal"
    signed = "signature" in log.columns and log["signature"].notna().any()
    if signed or head.signature:
        return _signature_problem(head, where, keys, required)
    return None


def _signature_problem(
    head: Head, where: str, keys: dict[str, str], required: str | None
) -> str | None:
    from .signing import signature_problem

    if not head.signature:
        return f"{where}: the head is not signed, but the record's seals are"
    return signature_problem(
        head.message(), head.signature, head.key_id, keys, required, f"{where}: the head"
    )


def chain_divergence(warehouse: pd.DataFrame, site: pd.DataFrame) -> tuple[str | None, str]:
    """(a problem, a note) from comparing the warehouse's chain with the site's. The site is a
    copy made by the last rollups run, so it may end earlier (the note says by how much); it may
    never differ on a seal both hold, nor hold a seal the warehouse does not."""
    ours = warehouse.sort_values("seq")[["seq", "seal", "cycle_key"]].to_dict("records")
    theirs = site.sort_values("seq")[["seq", "seal", "cycle_key"]].to_dict("records")
    for mine, published in zip(ours, theirs, strict=False):
        if mine["seal"] != published["seal"]:
            return (
                f"the warehouse and the site differ from seal {mine['seq']} (cycle "
                f"{mine['cycle_key']} in the warehouse, {published['cycle_key']} on the site)",
                "",
            )
    if len(theirs) > len(ours):
        extra = theirs[len(ours)]
        return (
            f"the site published seals {extra['seq']}..{theirs[-1]['seq']} (from cycle "
            f"{extra['cycle_key']}) that the warehouse no longer holds: the warehouse's latest "
            "seals were removed",
            "",
        )
    behind = len(ours) - len(theirs)
    note = (
        "the site holds the warehouse's chain"
        if not behind
        else f"the site holds the warehouse's chain up to seal {len(theirs)}; it is {behind} "
        "seal(s) behind (rebuilt by the next rollups run)"
    )
    return None, note


def find_pin(log: pd.DataFrame, pin: str) -> tuple[int | None, str | None]:
    """(the seq of the seal a reader pinned, a problem). `pin` is a seal or its first
    MIN_PIN_DIGITS hex digits or more."""
    pin = pin.strip().lower()
    if len(pin) < MIN_PIN_DIGITS or any(c not in "0123456789abcdef" for c in pin):
        return None, (
            f"--head {pin!r} is not a seal: give the seal's hex digits (at least "
            f"{MIN_PIN_DIGITS} of them)"
        )
    hits = log[log["seal"].str.startswith(pin)]
    if len(hits) == 0:
        return None, (
            f"the seal you pinned ({pin[:16]}…) is not in the chain: the record was trimmed "
            "or rewritten since you saw it"
        )
    if len(hits) > 1:
        return None, f"--head {pin} matches {len(hits)} seals: give more of its digits"
    return int(hits["seq"].iloc[0]), None
