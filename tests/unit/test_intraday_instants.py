"""Intraday time stamps are instants: every offset form reads as the same New York minute."""

import gzip

import pandas as pd
import pytest

from workshop_dagster.market.csv_replay import CsvMarket, instants_in_new_york, stated_zone
from workshop_dagster.market.errors import MarketDataError

# 2026-07-15 14:10 New York (EDT, UTC-4) is 18:10 UTC.
SAME_INSTANT = [
    "2026-07-15T14:10:00-04:00",  # New York's own offset that day
    "2026-07-15T13:10:00-05:00",  # a constant -05:00 through the summer: an hour off the clock
    "2026-07-15T18:10:00Z",
    "2026-07-15T18:10:00+00:00",
    "2026-07-15T20:10:00+02:00",
    "2026-07-15T18:10:00.000+00:00",
]


def test_every_offset_form_reads_as_the_instant_it_names():
    read = instants_in_new_york(pd.Series(SAME_INSTANT))
    assert (read == pd.Timestamp("2026-07-15 14:10")).all(), read.tolist()
    # In winter New York is UTC-5: -05:00 is the wall clock, UTC is five hours ahead.
    winter = instants_in_new_york(pd.Series(["2026-01-15T14:10:00-05:00", "2026-01-15T19:10Z"]))
    assert (winter == pd.Timestamp("2026-01-15 14:10")).all()


def test_a_naive_stamp_needs_a_stated_zone():
    naive = pd.Series(["2026-07-15 18:10:00", "2026-07-15T18:10:00"])
    assert instants_in_new_york(naive).isna().all()
    assert (instants_in_new_york(naive, "UTC") == pd.Timestamp("2026-07-15 14:10")).all()
    as_ny = instants_in_new_york(naive, "America/New_York")
    assert (as_ny == pd.Timestamp("2026-07-15 18:10")).all()


def _bars(stamps: list[str]) -> str:
    rows = [f"{s},100,100.5,99.5,100.2,10" for s in stamps]
    return "timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n"


def _folder(tmp_path, text: str, zone: str | None = None):
    (tmp_path / "daily").mkdir(parents=True, exist_ok=True)
    folder = tmp_path / "intraday" / "5m"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "QQQ.csv.gz").write_bytes(gzip.compress(text.encode()))
    if zone:
        (tmp_path / "intraday" / "TIMEZONE").write_text(zone + "\n")
    return CsvMarket(tmp_path)


def test_a_fixed_offset_file_gives_the_bars_of_new_yorks_file(tmp_path):
    minutes = pd.date_range("2026-07-15 13:00", "2026-07-15 14:30", freq="5min")
    new_york = [t.strftime("%Y-%m-%dT%H:%M:%S-04:00") for t in minutes]
    fixed = [(t - pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S-05:00") for t in minutes]
    utc_naive = [(t + pd.Timedelta(hours=4)).strftime("%Y-%m-%d %H:%M:%S") for t in minutes]
    reads = [
        _folder(tmp_path / "ny", _bars(new_york)),
        _folder(tmp_path / "fixed", _bars(fixed)),
        _folder(tmp_path / "naive", _bars(utc_naive), zone="UTC"),
    ]
    bars = [m.intraday_bars(["QQQ"], "2026-07-15", "2026-07-16")["bar_start"] for m in reads]
    assert bars[0].tolist() == list(minutes)
    assert bars[1].equals(bars[0]) and bars[2].equals(bars[0])
    # A 13:15 cycle sees the bars that ended by 13:15, never the 14:10 bar.
    seen = bars[1][bars[1] + pd.Timedelta(minutes=5) <= pd.Timestamp("2026-07-15 13:15")]
    assert seen.max() == pd.Timestamp("2026-07-15 13:10")


def test_naive_stamps_without_a_zone_and_a_zone_that_is_not_one_are_refused(tmp_path):
    market = _folder(tmp_path / "a", _bars(["2026-07-15 18:10:00"]))
    with pytest.raises(MarketDataError, match="needs its zone named in intraday/TIMEZONE"):
        market.intraday_bars(["QQQ"], "2026-07-15", "2026-07-16")
    _folder(tmp_path / "b", _bars(["2026-07-15 18:10:00"]), zone="Mars/Olympus")
    with pytest.raises(MarketDataError, match="is not a time zone name"):
        stated_zone(tmp_path / "b")


@pytest.mark.parametrize(
    "content", [b"\x1f\x8b\x08\x00truncated", b"timestamp,open\nnot gzip at all"]
)
def test_a_truncated_or_non_gzip_file_fails_at_once_naming_it(tmp_path, content):
    market = _folder(tmp_path, "")
    path = tmp_path / "intraday" / "5m" / "QQQ.csv.gz"
    path.write_bytes(content)
    with pytest.raises(MarketDataError) as err:
        market.intraday_bars(["QQQ"], "2026-07-15", "2026-07-16")
    assert str(path) in str(err.value) and not err.value.transient
