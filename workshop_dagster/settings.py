"""Every setting Workshop reads, in one place.

Settings come from environment variables so that `make demo`, `dagster dev`, the daemon and the
CLI all see the same configuration. Each entry here is documented in the README's settings table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_CYCLE_CRON = "15 9,12,19 * * 1-5"
DEFAULT_START = "2025-01-02"
DEFAULT_TIMEZONE = "America/New_York"


@dataclass(frozen=True)
class Settings:
    """A snapshot of the WORKSHOP_* environment."""

    market: str
    seed: int
    database: Path
    data_dir: Path
    runtime_dir: Path
    cycle_cron: str
    start: str
    timezone: str
    llm: str = "offline"
    site_url: str = ""
    llm_options: dict = field(default_factory=dict)
    scoring_interval_s: int = 300

    @property
    def market_cache_dir(self) -> Path:
        """Where live downloads are cached, in the `csv:` layout, so a re-run needs no network."""
        return self.data_dir / "market_cache"


class SettingsError(ValueError):
    """A WORKSHOP_* setting is wrong; the message names the variable and what it accepts."""


MARKET_SPECS = "sim, csv:PATH (a folder holding daily/ and rates/) or yfinance"
LLM_ENGINES = ("offline", "anthropic")
CALENDAR_FIRST_DAY = "2000-01-03"  # the NYSE calendar the partitions are built from starts here


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate the settings from `env` (default: the process environment).

    Every setting is checked here, when the code location loads (and so by `make validate`),
    before any run can write a row: a wrong one raises `SettingsError` naming the variable and
    the values it accepts."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("WORKSHOP_DATA_DIR") or PROJECT_ROOT / "data").expanduser()
    database = Path(env.get("WORKSHOP_DB") or data_dir / "workshop.duckdb").expanduser()
    llm = env.get("WORKSHOP_LLM", "offline").strip() or "offline"
    if llm not in LLM_ENGINES:
        raise SettingsError(f"WORKSHOP_LLM={llm!r} is not an engine: use offline or anthropic")
    if llm == "anthropic" and not env.get("ANTHROPIC_API_KEY", "").strip():
        raise SettingsError(
            "WORKSHOP_LLM=anthropic needs ANTHROPIC_API_KEY in the environment "
            "(or WORKSHOP_LLM=offline for the offline minds)"
        )
    market = env.get("WORKSHOP_MARKET", "sim").strip() or "sim"
    _check_market(market)
    site_url = env.get("WORKSHOP_SITE_URL", "").strip()
    if site_url and not site_url.startswith(("http://", "https://", "/")):
        raise SettingsError(
            f"WORKSHOP_SITE_URL={site_url!r} must be an http(s):// URL or a path from the "
            "web root starting with / (or empty: links relative to the site folder)"
        )
    return Settings(
        market=market,
        seed=_number(env, "WORKSHOP_SEED", int, 7, 0, 2**32 - 1),
        database=database,
        data_dir=data_dir,
        runtime_dir=Path(env.get("WORKSHOP_RUNTIME_DIR") or data_dir / "run").expanduser(),
        cycle_cron=_cron(env.get("WORKSHOP_CYCLE_CRON", "").strip() or DEFAULT_CYCLE_CRON),
        start=_start(env.get("WORKSHOP_START", "").strip() or DEFAULT_START),
        timezone=DEFAULT_TIMEZONE,
        llm=llm,
        site_url=site_url,
        llm_options=_llm_options(env),
        scoring_interval_s=_number(env, "WORKSHOP_SCORING_INTERVAL_S", int, 300, 10, 86400),
    )


def _number(env: dict[str, str], var: str, kind: type, default, low, high):
    text = env.get(var, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value != value or not low <= value <= high:  # value != value: NaN
        raise SettingsError(
            f"{var}={text!r} is not {'an integer' if kind is int else 'a number'} "
            f"from {low} to {high}"
        )
    return value


def _check_market(spec: str) -> None:
    if spec in ("sim", "yfinance"):
        return
    if spec.startswith("csv:") and spec[4:].strip():
        from .market.sources import csv_folder

        path = csv_folder(spec, PROJECT_ROOT)
        missing = [sub for sub in ("daily", "rates") if not (path / sub).is_dir()]
        if missing:
            raise SettingsError(
                f"WORKSHOP_MARKET={spec!r}: {path} has no {' or '.join(missing)} folder "
                f"(expected daily/<TICKER>.csv and rates/<SERIES>.csv; use {MARKET_SPECS})"
            )
        return
    raise SettingsError(f"WORKSHOP_MARKET={spec!r} is not a market source: use {MARKET_SPECS}")


def _cron(cron: str) -> str:
    from dagster._utils.schedules import is_valid_cron_string

    if not is_valid_cron_string(cron):
        raise SettingsError(
            f"WORKSHOP_CYCLE_CRON={cron!r} is not a five-field cron string "
            f"(minute hour day month weekday, New York time), e.g. {DEFAULT_CYCLE_CRON!r}"
        )
    return cron


def _start(start: str) -> str:
    import pandas as pd

    try:
        day = pd.Timestamp(start)
    except (ValueError, TypeError):
        day = pd.NaT
    today = pd.Timestamp.now(tz=DEFAULT_TIMEZONE).tz_localize(None)
    if day is pd.NaT or day.tzinfo is not None:
        raise SettingsError(
            f"WORKSHOP_START={start!r} is not a date: use YYYY-MM-DD (New York), e.g. "
            f"{DEFAULT_START!r}"
        )
    if not pd.Timestamp(CALENDAR_FIRST_DAY) <= day <= today:
        raise SettingsError(
            f"WORKSHOP_START={start!r} must be from {CALENDAR_FIRST_DAY} to today "
            f"({today:%Y-%m-%d}): the first cycle must be a day the calendar knows and that has "
            "begun"
        )
    return start


# variable: (LLMResource field, type, lowest, highest); bools and JSON are checked apart.
LLM_SETTINGS = {
    "WORKSHOP_LLM_MODEL": ("mind_model", str, None, None),
    "WORKSHOP_LLM_SYNTHESIS_MODEL": ("synthesis_model", str, None, None),
    "WORKSHOP_LLM_MAX_TOKENS": ("max_tokens", int, 64, 64000),
    "WORKSHOP_LLM_TIMEOUT_S": ("timeout_s", float, 1.0, 3600.0),
    "WORKSHOP_LLM_MAX_RETRIES": ("max_retries", int, 0, 10),
    "WORKSHOP_LLM_BUDGET_USD": ("budget_usd", float, 0.0, 100000.0),
    "WORKSHOP_LLM_REFRESH": ("refresh", bool, None, None),
    "WORKSHOP_LLM_PRICES": ("prices_json", str, None, None),
    "WORKSHOP_LLM_BATCH": ("batch", bool, None, None),
    "WORKSHOP_LLM_BATCH_POLL_S": ("batch_poll_s", float, 1.0, 3600.0),
}
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _llm_options(env: dict[str, str]) -> dict:
    options = {}
    for var, (name, kind, low, high) in LLM_SETTINGS.items():
        text = env.get(var, "").strip()
        if not text:
            continue
        if kind is bool:
            if text.lower() not in TRUE + FALSE:
                raise SettingsError(f"{var}={text!r} is not true or false")
            options[name] = text.lower() in TRUE
        elif kind is str:
            options[name] = text
        else:
            options[name] = _number(env, var, kind, None, low, high)
    if "prices_json" in options:
        _check_prices(options["prices_json"])
    return options


def _check_prices(text: str) -> None:
    import json

    problem = 'JSON {"model": [input, output, cache_write, cache_read]} in $ per million tokens'
    try:
        prices = json.loads(text)
    except ValueError:
        prices = None
    if not isinstance(prices, dict) or not all(
        isinstance(v, list)
        and len(v) == 4
        and all(isinstance(x, int | float) and x >= 0 for x in v)
        for v in prices.values()
    ):
        raise SettingsError(f"WORKSHOP_LLM_PRICES must be {problem}")
