"""The record's head: a chain trimmed below it, a head that is not the chain's, a site that
leads the warehouse, a pinned seal."""

import duckdb
import pandas as pd
import pytest

from tests.unit.test_seals import _contents, _key_file
from workshop_dagster.predictions import record_head, seals
from workshop_dagster.predictions.signing import Signer


@pytest.fixture
def conn():
    with duckdb.connect(":memory:") as c:
        yield c


def test_each_seal_records_the_head_and_a_trimmed_chain_is_named(conn, tmp_path):
    signer = Signer(_key_file(tmp_path)[0])
    seals.seal(conn, _contents(cycles=("c1", "c2", "c3")), signer=signer)
    log, head = seals.chain(conn), record_head.stored(conn)
    keys = seals.public_keys(conn)
    assert (head.seq, head.cycle_key) == (3, "c3") and head.signature
    assert record_head.head_problem(log, head, "here", keys, signer.public_pem()) is None
    trimmed = log[log["seq"] < 3]
    assert "the chain ends at seal 2: its latest seals were removed" in (
        record_head.head_problem(trimmed, head, "here", keys, None)
    )
    unsigned = record_head.Head(2, trimmed["seal"].iloc[-1], "c2")
    assert "the head is not signed, but the record's seals are" in (
        record_head.head_problem(trimmed, unsigned, "here", keys, None)
    )
    forged = record_head.Head(2, trimmed["seal"].iloc[-1], "c2").signed(
        Signer(_key_file(tmp_path, "attacker.pem")[0])
    )
    assert "signed by key" in record_head.head_problem(
        trimmed, forged, "here", keys, signer.public_pem()
    )
    assert "records no head" in record_head.head_problem(log, None, "here", keys, None)
    # Sealing nothing new leaves the signed head as it is.
    seals.seal(conn, _contents(cycles=("c3",)))
    assert record_head.stored(conn) == head


def test_the_site_may_lag_the_warehouse_but_never_lead_or_differ(conn):
    seals.seal(conn, _contents(cycles=("c1", "c2", "c3")))
    log = seals.chain(conn)
    assert record_head.chain_divergence(log, log) == (None, "the site holds the warehouse's chain")
    problem, note = record_head.chain_divergence(log, log.iloc[:2])
    assert problem is None and "1 seal(s) behind" in note
    problem, _ = record_head.chain_divergence(log.iloc[:2], log)
    assert "the site published seals 3..3 (from cycle c3) that the warehouse" in problem
    other = log.copy()
    other.loc[1, "seal"] = "f" * 64
    assert "differ from seal 2" in record_head.chain_divergence(log, other)[0]


def test_a_pinned_seal_is_found_by_its_prefix_or_named_missing(conn):
    seals.seal(conn, _contents(cycles=("c1", "c2")))
    log = seals.chain(conn)
    assert record_head.find_pin(log, log["seal"].iloc[1][:16]) == (2, None)
    assert "is not in the chain" in record_head.find_pin(log, "0" * 20)[1]
    assert "is not a seal" in record_head.find_pin(log, "xyz")[1]
    assert "is not a seal" in record_head.find_pin(pd.DataFrame({"seal": []}), "ab")[1]
