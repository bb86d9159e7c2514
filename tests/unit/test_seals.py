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


def _key_file(tmp_path, name="signing.pem"):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    path = tmp_path / name
    path.write_text(pem)
    return path, pem


def test_signed_seals_verify_and_a_forged_missing_or_foreign_signature_is_named(conn, tmp_path):
    from workshop_dagster.predictions.signing import Signer, verify_signatures

    path, private_pem = _key_file(tmp_path)
    signer = Signer(path)
    seals.seal(conn, _contents(cycles=("c0",)))  # sealed before signing was configured
    seals.seal(conn, _contents(cycles=("c1", "c2")), signer=signer)
    log = seals.chain(conn)
    keys = seals.public_keys(conn)
    assert log["signature"].isna().tolist() == [True, False, False]
    assert seals.verify_chain(log) is None
    assert verify_signatures(log.to_dict("records"), keys) is None
    assert verify_signatures(log.to_dict("records"), keys, required=signer.public_pem()) is None
    # The private key is in no table: only the public key and the signatures are.
    for (table,) in conn.execute("show tables").fetchall():
        text = conn.execute(f"select * from {table}").fetchdf().to_csv()
        assert "PRIVATE KEY" not in text and private_pem.splitlines()[1] not in text

    forged = log.copy()
    forged.loc[forged["cycle_key"] == "c2", "signature"] = "00" * 64
    assert verify_signatures(forged.to_dict("records"), keys) == (
        "cycle c2: seal 3: its signature does not verify"
    )
    stripped = log.copy()
    stripped.loc[stripped["cycle_key"] == "c2", "signature"] = None
    assert "c2: seal 3 is not signed" in verify_signatures(stripped.to_dict("records"), keys)
    other, _ = _key_file(tmp_path, "other.pem")
    foreign = verify_signatures(log.to_dict("records"), keys, Signer(other).public_pem())
    assert "cycle c1: seal 2 is signed by key" in foreign and "not the one given" in foreign


def test_a_signing_key_that_cannot_sign_is_refused_when_the_settings_load(tmp_path):
    from workshop_dagster.config.settings import SettingsError, load_settings

    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key, and a secret-ish line\n")
    with pytest.raises(SettingsError, match="WORKSHOP_SIGNING_KEY") as raised:
        load_settings({"WORKSHOP_SIGNING_KEY": str(bad), "WORKSHOP_NEWS_FEEDS": "none"})
    assert "secret-ish" not in str(raised.value)
    with pytest.raises(SettingsError, match="WORKSHOP_SIGNING_KEY"):
        load_settings({"WORKSHOP_SIGNING_KEY": str(tmp_path / "missing.pem")})
    good, _ = _key_file(tmp_path)
    settings = load_settings({"WORKSHOP_SIGNING_KEY": str(good), "WORKSHOP_NEWS_FEEDS": "none"})
    assert settings.signing_key == str(good)


def test_a_record_takes_the_calls_of_one_variant_only(conn):
    seals.claim_variant(conn, "main", "placebo")
    seals.seal(conn, _contents())
    seals.claim_variant(conn, "main", "placebo")  # the same variant again: fine
    with pytest.raises(seals.SealedRecordError, match="holds the calls of variant 'placebo'"):
        seals.claim_variant(conn, "main", "baseline")
    # A side variant's record lives in its own schema, bound to it.
    seals.claim_variant(conn, "no_feedback", "no_feedback")
    seals.seal(conn, _contents(memo="I abstain."), schema="no_feedback")
    assert len(seals.chain(conn, "no_feedback")) == 2 and len(seals.chain(conn)) == 2


def test_a_record_sealed_before_variants_were_stamped_is_the_loops_own():
    with duckdb.connect(":memory:") as conn:
        seals.seal(conn, _contents())
        seals.claim_variant(conn, "main", "baseline")
    with duckdb.connect(":memory:") as conn:
        seals.seal(conn, _contents())
        with pytest.raises(seals.SealedRecordError, match="WORKSHOP_VARIANTS=placebo"):
            seals.claim_variant(conn, "main", "placebo")
