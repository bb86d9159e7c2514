"""The sealed record: a hash chain that any edit, deletion or reordering breaks."""

import duckdb
import pytest

from workshop_dagster.predictions import seals

CALL = {
    "source": "synthesis",
    "parse_status": "parsed",
    "subject": "QQQ",
    "direction": "down",
    "timeframe": "24h",
    "confidence": 0.62,
    "band_low_pct": None,
    "band_high_pct": None,
}


def _contents(memo: str = "I call QQQ lower.", confidence: float = 0.62, cycles=("c1", "c2")):
    return {
        k: seals.cycle_content(k, f"{memo} ({k})", [{**CALL, "confidence": confidence}])
        for k in cycles
    }


@pytest.fixture
def conn():
    with duckdb.connect(":memory:") as c:
        yield c


def test_sealing_the_same_content_again_changes_nothing(conn):
    first = seals.seal(conn, _contents())
    again = seals.seal(conn, _contents())
    assert again.equals(first) and len(seals.chain(conn)) == 2
    assert seals.verify_chain(seals.chain(conn)) is None


def test_other_content_is_refused_unless_amended_and_then_both_stay_visible(conn):
    seals.seal(conn, _contents())
    with pytest.raises(seals.SealedRecordError, match="cycle c1 is sealed with other content"):
        seals.seal(conn, _contents(memo="A changed prompt says otherwise."))
    assert len(seals.chain(conn)) == 2  # nothing written
    seals.seal(conn, _contents(memo="A changed prompt says otherwise."), amend=True)
    log = seals.chain(conn)
    assert log["kind"].tolist() == ["seal", "seal", "amendment", "amendment"]
    assert seals.verify_chain(log) is None
    assert seals.verify_contents(log, _contents(memo="A changed prompt says otherwise.")) is None


def test_any_edit_deletion_or_reordering_names_its_cycle(conn):
    seals.seal(conn, _contents(cycles=("c1", "c2", "c3")))
    log = seals.chain(conn)
    current = _contents(cycles=("c1", "c2", "c3"))
    assert seals.verify_contents(log, current) is None
    # The warehouse edited after the fact: a memo, a confidence, a cycle deleted.
    edited = {**current, "c2": _contents(memo="Edited.", cycles=("c2",))["c2"]}
    assert seals.verify_contents(log, edited) == "cycle c2: its memo differ from what was sealed"
    calls = {**current, "c3": _contents(confidence=0.9, cycles=("c3",))["c3"]}
    assert seals.verify_contents(log, calls) == "cycle c3: its calls differ from what was sealed"
    assert seals.verify_contents(log, {k: current[k] for k in ("c1", "c3")}) == (
        "cycle c2 is sealed but missing"
    )
    # The chain edited: a row's content rewritten (even with its hash), a row removed.
    forged = log.copy()
    forged.loc[1, "content_json"] = edited["c2"]
    forged.loc[1, "content_hash"] = seals._sha(edited["c2"])
    assert seals.verify_chain(forged) == "cycle c2: seal 2 is not the hash of its fields"
    assert "seal 2 is missing" in seals.verify_chain(log.drop(index=1))
