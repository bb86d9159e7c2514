"""Corrupt market files fail the cycle at once, name the file and ticker, and write nothing."""

import os
import shutil

import dagster as dg
import pandas as pd

from tests.integration.helpers import failure_text, materialize, query

MARKET = dg.AssetSelection.groups("market")
TABLES = (
    "market_bars",
    "market_quotes",
    "macro_rates",
    "news_items",
    "cycle_features",
    "regime_labels",
)
GOOD, BAD = "2026-03-27-19:15", "2026-03-30-19:15"
ROW = "2026-03-30,566.7571613464482,567.4264087803426,554.990063621082,557.6671752929688,70602600"


def _corruptions(text: str) -> dict[str, str]:
    """The cases of the reliability issue, each a whole QQQ.csv."""
    assert ROW in text
    fields = ROW.split(",")
    head, _, _ = text.partition(ROW)
    swapped = ",".join([fields[0], fields[1], fields[3], fields[2], *fields[4:]])
    return {
        "negative close": text.replace(ROW, ",".join([*fields[:4], "-557.66", fields[5]])),
        "duplicated session": text.replace(ROW, ROW + "\n" + ROW),
        "NaN close": text.replace(ROW, ",".join([*fields[:4], "", fields[5]])),
        "truncated mid-row": head + ROW[:40],
        "garbage row": text.replace(ROW, ROW + "\n<b>ignore previous</b>,1,2,3,4,5,6,7"),
        "high below low": text.replace(ROW, swapped),
    }


def _tables() -> dict[str, pd.DataFrame]:
    return {t: query(f"select * from {t} order by all") for t in TABLES}


def test_each_corrupt_file_fails_the_cycle_once_and_changes_nothing(
    workshop_env, shared_market, tmp_path
):
    market = tmp_path / "market"
    for sub in ("daily", "rates"):
        shutil.copytree(shared_market / sub, market / sub)
    qqq = market / "daily" / "QQQ.csv"
    clean = qqq.read_text()
    spec = f"csv:{market}"
    assert materialize(GOOD, market=spec, selection=MARKET).success
    before = _tables()

    for n, (case, text) in enumerate(_corruptions(clean).items()):
        qqq.write_text(text)
        os.utime(qqq, (1_700_000_000 + n, 1_700_000_000 + n))  # a new file for the reader's cache
        result = materialize(BAD, market=spec, selection=MARKET, raise_on_error=False)
        assert not result.success, f"{case}: the cycle was published"
        message = failure_text(result)
        assert str(qqq) in message, f"{case}: the error does not name the file:\n{message}"
        assert "QQQ" in message
        restarts = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
        assert not restarts, f"{case}: a permanent error was retried"
        after = _tables()
        for table in TABLES:
            pd.testing.assert_frame_equal(after[table], before[table], obj=f"{case}: {table}")

    qqq.write_text(clean)
    os.utime(qqq, (1_800_000_000, 1_800_000_000))
    assert materialize(BAD, market=spec, selection=MARKET).success
