"""What someone with write access to the warehouse, to the site, or to both can and cannot do to
the sealed record (docs/architecture.md, "What the seal holds against"): each attack made on a
copy of one signed record of three cycles, and what `make verify` says of it."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.integration.helpers import failure_text, materialize, query
from tests.unit.test_seals import _key_file
from workshop_dagster.commands.verify import main as verify
from workshop_dagster.config import settings as settings_module
from workshop_dagster.predictions import seals
from workshop_dagster.predictions.record_head import Head
from workshop_dagster.predictions.signing import Signer, key_id

# Forges DuckDB files of its own, copied between attacks.
pytestmark = pytest.mark.file_warehouse

CYCLES = ["2026-03-30-09:15", "2026-03-30-12:15", "2026-03-30-19:15"]
LOOP = dg.AssetSelection.groups("market", "minds", "predictions") | dg.AssetSelection.assets(
    "posts"
)
SITE = dg.AssetSelection.groups("track_record") | dg.AssetSelection.assets("site")
LAST = CYCLES[-1]


def _use(folder: Path, mp: pytest.MonkeyPatch) -> None:
    """Point the settings, the warehouse and the instance at `folder`, signing with its key."""
    from workshop_dagster.config.settings import load_settings

    mp.setenv("DAGSTER_HOME", str(folder / "dagster_home"))
    mp.setenv("WORKSHOP_DATA_DIR", str(folder / "data"))
    mp.setenv("WORKSHOP_DB", str(folder / "data" / "workshop.duckdb"))
    mp.setenv("WORKSHOP_NEWS_FEEDS", "none")
    mp.delenv("WORKSHOP_MARKET", raising=False)
    mp.delenv("WORKSHOP_SIGNING_KEY", raising=False)
    signed = replace(load_settings(), signing_key=str(folder / "signing.pem"))
    mp.setattr(settings_module, "_active", signed)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """Three cycles sealed and signed, the site built after the first two and after the third;
    the heads published after the second kept aside, as someone watching could have."""
    from tests.conftest import PROJECT

    base = tmp_path_factory.mktemp("record")
    (base / "dagster_home").mkdir()
    (base / "dagster_home" / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    key, _ = _key_file(base)
    (base / "public.pem").write_text(Signer(key).public_pem())
    with pytest.MonkeyPatch.context() as mp:
        _use(base, mp)
        dg.DagsterInstance.get().dispose()
        for selection, keys in ((LOOP, CYCLES[:2]), (SITE, None)):
            result = materialize(keys, selection=selection)
            assert result.success, failure_text(result)
        site = base / "data" / "site"
        shutil.copy(site / "record" / "head.json", base / "old_head.json")
        shutil.copy(site / "index.html", base / "old_index.html")
        old = query("select * from record_head")
        old.to_json(base / "old_head_row.json", orient="records")
        for selection, keys in ((LOOP, [LAST]), (SITE, None)):
            result = materialize(keys, selection=selection)
            assert result.success, failure_text(result)
    return base


@pytest.fixture
def record(pristine, tmp_path, monkeypatch) -> Path:
    """A copy of the pristine record, warehouse, site and instance, in use."""
    folder = tmp_path / "copy"
    shutil.copytree(pristine, folder)
    _use(folder, monkeypatch)
    return folder


def _verify(capsys, *args: str) -> tuple[int, str]:
    code = verify(list(args))
    return code, capsys.readouterr().out


def _db(folder: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(folder / "data" / "workshop.duckdb"))


def _forge_last_call(folder: Path, attacker: Signer) -> None:
    """Re-seal the last cycle with its synthesis call at 0.99, signed by another key filed under
    the real key's id, its public key put in the record's place, and the head re-signed."""
    real_id = key_id(Signer(folder / "signing.pem").public_pem())
    with _db(folder) as conn:
        conn.execute(
            "update predictions set confidence = 0.99 where cycle_key = ? and source = 'synthesis'",
            [LAST],
        )
        memo = conn.execute("select cycle_key, body from memo where cycle_key = ?", [LAST]).df()
        calls = conn.execute("select * from predictions where cycle_key = ?", [LAST]).df()
        content = seals.contents(memo, calls)[LAST]
        seq, prev = conn.execute(
            "select seq, prev_seal from record_seals where cycle_key = ?", [LAST]
        ).fetchall()[0]
        digest = seals._sha(content)
        seal = seals.seal_of(seq, LAST, "seal", digest, prev)
        conn.execute(
            "update record_seals set content_json = ?, content_hash = ?, seal = ?, "
            "signature = ? where seq = ?",
            [content, digest, seal, attacker.sign([seal])[0], seq],
        )
        conn.execute(
            "update record_signing_keys set public_pem = ? where key_id = ?",
            [attacker.public_pem(), real_id],
        )
        head = replace(Head(seq, seal, LAST).signed(attacker), key_id=real_id)
        conn.execute("update record_head set seal = ?, signature = ?", [head.seal, head.signature])


def test_a_call_resigned_with_another_key_is_refused_by_the_key_the_user_holds(
    record, tmp_path, capsys, monkeypatch
):
    attacker = Signer(_key_file(tmp_path, "attacker.pem")[0])
    _forge_last_call(record, attacker)
    code, out = _verify(capsys, "--no-site", "--public-key", str(record / "public.pem"))
    assert code == 1
    assert f"cycle {LAST}: seal 3: its signature does not verify" in out
    # Without a key, the record's own key agrees with it (verify says that proves little), and
    # the instance, which recorded the head the run left, names the rewrite.
    code, out = _verify(capsys, "--no-site")
    assert code == 1 and "proves only that the record and its key agree" in out
    assert "warehouse against the Dagster instance: NOT VERIFIED" in out
    assert "holds another seal there" in out
    # The site, rebuilt from the forged warehouse by a rollups run, is refused the same way.
    assert materialize(None, selection=SITE).success
    code, out = _verify(capsys, "--public-key", str(record / "public.pem"))
    assert code == 1 and "site: NOT VERIFIED" in out and "does not verify" in out
    # The key the user configured for signing is the key verify holds by default.
    monkeypatch.setenv("WORKSHOP_SIGNING_KEY", str(record / "signing.pem"))
    code, out = _verify(capsys, "--no-site")
    assert code == 1 and "checked against the key you hold (WORKSHOP_SIGNING_KEY)" in out


def _trim_warehouse(folder: Path, old_head: bool) -> None:
    """Withdraw the last cycle: its seal, memo and calls deleted; with `old_head`, the head the
    warehouse recorded before it put back (signed: someone kept it)."""
    with _db(folder) as conn:
        for table in ("record_seals", "memo", "predictions"):
            conn.execute(f"delete from {table} where cycle_key = ?", [LAST])
        if old_head:
            row = json.loads((folder / "old_head_row.json").read_text())[0]
            conn.execute("delete from record_head")
            conn.execute(
                "insert into record_head values (?, ?, ?, ?, ?)",
                [row["seq"], row["seal"], row["cycle_key"], row["key_id"], row["signature"]],
            )


def _trim_site(folder: Path) -> None:
    """Withdraw the last cycle from the site whole: the chain's last line cut, the head, index
    and page put back as they were before it, its memo and page removed."""
    site = folder / "data" / "site"
    lines = (site / "record" / "record.jsonl").read_text().splitlines(keepends=True)
    (site / "record" / "record.jsonl").write_text("".join(lines[:2]))
    shutil.copy(folder / "old_head.json", site / "record" / "head.json")
    shutil.copy(folder / "old_index.html", site / "index.html")
    (site / "posts" / "2026-03-30-1915.html").unlink()
    (site / "record" / "memos" / "2026-03-30-1915.txt").unlink()


def test_withdrawing_the_latest_call_from_the_warehouse_is_named(record, capsys):
    _trim_warehouse(record, old_head=False)
    code, out = _verify(capsys, "--no-site")
    assert code == 1 and "its latest seals were removed" in out
    # With the earlier head put back, the warehouse alone verifies again: the site, which
    # published the withdrawn seal, and the instance, which recorded it, name the trim.
    _trim_warehouse(record, old_head=True)
    code, out = _verify(capsys)
    assert code == 1
    assert "warehouse: verified" in out
    assert "the site published seals 3..3 (from cycle 2026-03-30-19:15) that the warehouse" in out
    assert "warehouse against the Dagster instance: NOT VERIFIED" in out


def test_withdrawing_the_latest_call_from_the_site_is_named(record, capsys):
    record_file = record / "data" / "site" / "record" / "record.jsonl"
    lines = record_file.read_text().splitlines(keepends=True)
    record_file.write_text("".join(lines[:-1]))
    code, out = _verify(capsys)
    assert code == 1
    assert "the site's head.json says the record ends at seal 3" in out
    assert "the page of cycle 2026-03-30-19:15 carries seal 3 but the published chain" in out
    assert "the index shows another head than the chain's last seal" in out
    # The whole site put back as it was before the last cycle: the site alone verifies; the
    # instance's record of the last build names the rollback.
    _trim_site(record)
    code, out = _verify(capsys)
    assert code == 1 and "site: verified" in out
    assert "site against the Dagster instance: NOT VERIFIED" in out
    assert "the site holds the warehouse's chain up to seal 2; it is 1 seal(s) behind" in out


def test_an_edited_page_is_named(record, capsys):
    page = record / "data" / "site" / "posts" / "2026-03-30-1215.html"
    text = page.read_text()
    confidence = text[text.index("[CONFIDENCE: ") :].split("]")[0]
    page.write_text(text.replace(confidence, "[CONFIDENCE: 0.99"))
    index = record / "data" / "site" / "index.html"
    index.write_text(index.read_text().replace('<td class="call">', '<td class="call">SPY ', 1))
    code, out = _verify(capsys)
    assert code == 1
    assert "the page of cycle 2026-03-30-12:15: its memo differs from what was sealed" in out
    assert "the index lists cycle" in out


def test_with_write_access_to_everything_only_the_head_a_reader_noted_names_the_trim(
    record, capsys, monkeypatch
):
    head = json.loads((record / "data" / "site" / "record" / "head.json").read_text())
    _trim_warehouse(record, old_head=True)
    _trim_site(record)
    code, out = _verify(capsys)
    assert code == 1 and out.count("against the Dagster instance: NOT VERIFIED") == 2
    # The instance rewritten too (here: a new one): every place agrees on two seals ...
    fresh = record / "fresh_home"
    fresh.mkdir()
    shutil.copy(record / "dagster_home" / "dagster.yaml", fresh / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(fresh))
    code, out = _verify(capsys)
    assert code == 0, out
    # ... but not with the head a reader noted when they read the third call.
    code, out = _verify(capsys, "--head", head["seal"][:16])
    assert code == 1 and "the seal you pinned" in out and "is not in the chain" in out
    assert "--head" in (record / "old_index.html").read_text()


def test_a_pinned_head_still_in_the_record_verifies(record, capsys):
    first = query("select seal from record_seals where seq = 1")["seal"][0]
    code, out = _verify(capsys, "--head", first)
    assert code == 0 and "holds it as seal 1 of 3" in out
    code, out = _verify(capsys, "--head", "abc")
    assert code == 1 and "is not a seal" in out
