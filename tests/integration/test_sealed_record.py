"""The sealed record through the real assets: a rewrite refused, an amendment visible, `verify`
naming the cycle a hand edit or a deletion touched, in the warehouse and on the site."""

import dagster as dg

from tests.integration.helpers import failure_text, materialize, query, writable
from workshop_dagster.commands.verify import main as verify
from workshop_dagster.commands.verify import verify_site, verify_warehouse
from workshop_dagster.minds.engine import OfflineEngine
from workshop_dagster.publish.layout import parse, render

CYCLES = ["2026-03-30-19:15", "2026-03-31-09:15"]
LOOP = dg.AssetSelection.groups("market", "minds", "predictions") | dg.AssetSelection.assets(
    "posts"
)
SITE = dg.AssetSelection.groups("track_record") | dg.AssetSelection.assets("site")


class ChangedPrompt(dg.ConfigurableResource):
    """The offline minds with one more sentence in every memo, as a changed prompt would."""

    def engine(self):
        class Changed(OfflineEngine):
            # What a changed prompt file makes of a Claude engine's writer (its digest).
            writer = "offline minds, with a changed prompt"

            def synthesize(self, context, opinions, debate):
                memo = super().synthesize(context, opinions, debate)
                parts = parse(memo.body)
                parts.body.append("A sentence a new prompt adds.")
                memo.body = render(parts)
                return memo

        return Changed()


def test_a_rewrite_is_refused_an_amendment_stays_visible_and_verify_names_hand_edits(
    workshop_env, tmp_path, monkeypatch, capsys
):
    from dataclasses import replace

    from tests.unit.test_seals import _key_file
    from workshop_dagster.config import settings as settings_module
    from workshop_dagster.config.settings import load_settings
    from workshop_dagster.predictions.signing import Signer

    # The first cycle sealed unsigned; then a signing key is configured (WORKSHOP_SIGNING_KEY)
    # and every seal from the second on is signed.
    assert materialize(CYCLES[0], selection=LOOP).success
    key, private_pem = _key_file(tmp_path)
    signed = replace(settings_module.active(), signing_key=str(key))
    monkeypatch.setattr(settings_module, "_active", signed)
    result = materialize(CYCLES[1], selection=LOOP)
    assert result.success, failure_text(result)
    assert materialize(None, selection=SITE).success
    settings = load_settings()
    assert verify_warehouse(settings.database) == []
    assert verify_site(settings.data_dir / "site") == []
    signatures = query("select signature from record_seals order by seq")["signature"]
    assert signatures.isna().tolist() == [True, False]
    site = settings.data_dir / "site"
    assert "BEGIN PUBLIC KEY" in (site / "record" / "public_keys.json").read_text()
    public = tmp_path / "public.pem"
    public.write_text(Signer(key).public_pem())
    assert verify(["--public-key", str(public)]) == 0
    out = capsys.readouterr().out
    # The warehouse, the site, each against the instance, and against each other.
    assert "NOT VERIFIED" not in out and out.count(": verified") == 5, out
    assert "1 seals signed, checked against the key you hold" in out
    # Nothing of the private key in the run's events, a table or the site.
    logs = "".join(str(e) for e in dg.DagsterInstance.get().all_logs(result.run_id))
    assert private_pem.splitlines()[1] not in logs
    assert not any(private_pem.splitlines()[1] in p.read_text() for p in site.rglob("*.json*"))
    page = (settings.data_dir / "site" / "posts" / "2026-03-31-0915.html").read_text()
    last = query("select seq, seal from record_seals order by seq desc limit 1")
    assert f"row {last['seq'][0]} of the record, seal <code>{last['seal'][0]}</code>" in page
    heads = query("select cycle_key, seal from record_seals order by seq")
    # A repeated run of sealed cycles changes no seal.
    assert materialize(CYCLES[1], selection=LOOP).success
    assert query("select cycle_key, seal from record_seals order by seq").equals(heads)

    refused = materialize(CYCLES[1], selection=LOOP, llm=ChangedPrompt(), raise_on_error=False)
    assert not refused.success
    text = failure_text(refused)
    assert "cycle 2026-03-31-09:15 is sealed as written by 'offline minds'" in text
    assert "writes as 'offline minds, with a changed prompt'" in text
    assert "workshop/amend=true" in failure_text(refused)
    assert query("select count(*) n from record_seals")["n"][0] == 2

    amended = materialize(
        CYCLES[1], selection=LOOP, llm=ChangedPrompt(), tags={"workshop/amend": "true"}
    )
    assert amended.success
    log = query("select cycle_key, kind from record_seals order by seq")
    assert log.values.tolist()[-1] == ["2026-03-31-09:15", "amendment"]
    assert log["kind"].tolist()[:2] == ["seal"] * 2  # the old seal stays
    assert verify_warehouse(settings.database) == []
    assert verify([]) == 0 and "warehouse: verified" in capsys.readouterr().out
    # The amendment is signed too; a key that did not sign is named.
    assert query("select signature from record_seals order by seq")["signature"].iloc[-1]
    other, _ = _key_file(tmp_path, "other.pem")
    other_public = tmp_path / "other_public.pem"
    other_public.write_text(Signer(other).public_pem())
    assert verify(["--no-site", "--public-key", str(other_public)]) == 1
    assert "not the one given" in capsys.readouterr().out

    # Hand edits after the fact: each named by its cycle.
    site = settings.data_dir / "site"
    with writable() as conn:
        conn.execute(
            "update predictions set confidence = 0.99 "
            "where cycle_key = '2026-03-31-09:15' and source = 'synthesis'"
        )
    assert verify_warehouse(settings.database) == [
        "cycle 2026-03-31-09:15: its calls differ from what was sealed"
    ]
    with writable() as conn:
        conn.execute("delete from memo where cycle_key = '2026-03-30-19:15'")
    assert verify_warehouse(settings.database) == ["cycle 2026-03-30-19:15 is sealed but missing"]
    assert verify([]) == 1 and "warehouse: NOT VERIFIED" in capsys.readouterr().out
    # The published site: one memo edited by hand.
    memo = site / "record" / "memos" / "2026-03-31-0915.txt"
    memo.write_text(memo.read_text() + "\nAdded later.\n")
    assert verify_site(site) == [
        "cycle 2026-03-31-09:15: its published memo differs from what was sealed"
    ]


KILL_AFTER_MEMO = """
import os, signal, sys
import dagster as dg
from tests.integration.helpers import materialize
from workshop_dagster.platform.io_manager import KeptConnection, WarehouseIOManager
from workshop_dagster.platform.run_guard import RunGuard

class KilledAfterTheMemo(WarehouseIOManager):
    def create_io_manager(self, context):
        inner = super().create_io_manager(context)

        class Killing(dg.IOManager):
            def handle_output(self, ctx, obj):
                inner.handle_output(ctx, obj)
                if ctx.name == "memo":  # stored; the calls come after it
                    os.kill(os.getpid(), signal.SIGKILL)

            def load_input(self, ctx):
                return inner.load_input(ctx)

        return Killing()

io = KilledAfterTheMemo(
    database=os.environ["WORKSHOP_DB"],
    schema="main",
    run_guard=RunGuard(),
    kept_connection=KeptConnection(),
)
materialize(sys.argv[1], selection=dg.AssetSelection.groups("market", "minds", "predictions"),
            resources={"io_manager": io})
"""


class DiskFullAtTheCalls:
    """The warehouse IO manager, failing when it stores the calls (a full disk)."""

    @staticmethod
    def resource():
        import os

        from workshop_dagster.platform.io_manager import KeptConnection, WarehouseIOManager
        from workshop_dagster.platform.run_guard import RunGuard

        class Failing(WarehouseIOManager):
            def create_io_manager(self, context):
                inner = super().create_io_manager(context)

                class Io(dg.IOManager):
                    def handle_output(self, ctx, obj):
                        if ctx.name == "predictions":
                            raise OSError("No space left on device")
                        inner.handle_output(ctx, obj)

                    def load_input(self, ctx):
                        return inner.load_input(ctx)

                return Io()

        return Failing(
            database=os.environ["WORKSHOP_DB"],
            schema="main",
            run_guard=RunGuard(),
            kept_connection=KeptConnection(),
        )


def test_a_run_that_dies_or_fails_between_the_memo_and_the_calls_leaves_nothing_of_its_cycle(
    workshop_env, tmp_path, capsys
):
    """The deliberation's outputs and the seal land in one transaction: a process killed -9
    after the memo is stored and before the calls, or a write of the calls that fails, leaves
    no seal without calls and no memo without its seal; verify has nothing to call tampering;
    the warehouse is free at once, and the re-run completes the cycle."""
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT

    def nothing_of_the_second_cycle():
        assert query("select cycle_key from record_seals")["cycle_key"].tolist() == [CYCLES[0]]
        assert query("select distinct cycle_key from memo")["cycle_key"].tolist() == [CYCLES[0]]
        assert verify(["--no-site"]) == 0, capsys.readouterr().out

    assert materialize(CYCLES[0], selection=LOOP).success
    script = tmp_path / "kill_after_memo.py"
    script.write_text(KILL_AFTER_MEMO)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    killed = subprocess.run(
        [sys.executable, str(script), CYCLES[1]], cwd=PROJECT, env=env, capture_output=True
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    nothing_of_the_second_cycle()
    failed = materialize(
        CYCLES[1],
        selection=LOOP,
        resources={"io_manager": DiskFullAtTheCalls.resource()},
        raise_on_error=False,
    )
    assert not failed.success and "No space left on device" in failure_text(failed)
    nothing_of_the_second_cycle()
    assert materialize(CYCLES[1], selection=LOOP).success
    assert verify(["--no-site"]) == 0, capsys.readouterr().out
    assert query("select count(*) n from record_seals")["n"][0] == 2


def test_a_refused_rerun_changes_nothing_the_sealed_memo_was_written_from(workshop_env):
    """WORKSHOP_INTRADAY=false on a sealed cycle: refused before any of its inputs is replaced
    (the memo was written from the minute's quotes), every input table as it was."""
    inputs = ["market_bars", "market_quotes", "macro_rates", "cycle_features", "regime_labels"]
    assert materialize(CYCLES[1], selection=LOOP).success
    before = {t: query(f"select * from {t} order by all") for t in inputs}
    refused = materialize(CYCLES[1], selection=LOOP, intraday=False, raise_on_error=False)
    assert not refused.success
    text = failure_text(refused)
    assert f"cycle {CYCLES[1]} is sealed, and this run would change the market_quotes rows" in text
    for table in inputs:
        assert query(f"select * from {table} order by all").equals(before[table]), table
