"""Every setting Workshop reads, in one model: `Settings` (with the LLM's in `LLMSettings`).

Settings come from environment variables so that `make demo`, `dagster dev`, the daemon and the
CLI all see the same configuration; they are read and validated once, when the code location
loads (`active`), and passed from there explicitly: the resources are built from them
(`resources.build_resources`), the partitions too. A program that configures a code location
itself (the evaluation) builds a `Settings` and installs it with `use` before the definitions are
imported, never through `os.environ`. Each entry is documented in the README's settings table.

Environment switches the package sets at import, all in `workshop_dagster/__init__.py` (why is
written there): DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS and DAGSTER_EVENT_BATCH_SIZE;
and GX_ANALYTICS_ENABLED=False where great_expectations is imported (predictions/quality.py and
the quality worker), so a validation never phones home.

(Over 350 lines: every setting with its check in one place, so a reader (and `make validate`)
finds each variable once.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..portfolio.rules import PortfolioRules, PortfolioRulesError, rules_from_env
from ..registry.server_urls import url_problem
from ..store import lake
from .cluster import ClusterSettingsError, ExecutorSettings, executor_settings
from .variants import ENGINES

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The Workshop's cadence (docs/architecture.md): a pre-market cycle at 09:15, every 30 minutes
# through the session (09:45 .. 15:45), and two evening cycles, 19:15 and 19:45, after the close
# and into after-hours trading: one cron, no exclusion (a skipped tick that has passed makes
# Dagster offer the next cycle's partition ahead of its time, WORKSHOP_CYCLE_SKIP's note).
DEFAULT_CYCLE_CRON = "15,45 9-15,19 * * 1-5"
DEFAULT_CYCLE_SKIP: tuple[str, ...] = ()
DEFAULT_START = "2025-01-02"
DEFAULT_TIMEZONE = "America/New_York"


def _env(var: str, low=None, high=None) -> dict:
    return {"env": var, "low": low, "high": high}


@dataclass(frozen=True)
class LLMSettings:
    """How the model minds (Claude, or a chat-completions server) are called. Each field with
    an `env` is a WORKSHOP_LLM_* variable;
    `LLMResource`'s config fields are these fields (resources.py derives them), so the defaults
    live here only."""

    mind_model: str = field(default="claude-haiku-5-5", metadata=_env("WORKSHOP_LLM_MODEL"))
    synthesis_model: str = field(
        default="claude-sonnet-5-5", metadata=_env("WORKSHOP_LLM_SYNTHESIS_MODEL")
    )
    max_tokens: int = field(default=1200, metadata=_env("WORKSHOP_LLM_MAX_TOKENS", 64, 64000))
    synthesis_max_tokens: int = 2000
    timeout_s: float = field(default=60.0, metadata=_env("WORKSHOP_LLM_TIMEOUT_S", 1.0, 3600.0))
    # The anthropic client's own retries (408, 409, 429, 5xx, timeouts, lost connections), with
    # its backoff and the API's retry-after.
    max_retries: int = field(default=4, metadata=_env("WORKSHOP_LLM_MAX_RETRIES", 0, 10))
    budget_usd: float = field(default=5.0, metadata=_env("WORKSHOP_LLM_BUDGET_USD", 0.0, 100000.0))
    refresh: bool = field(default=False, metadata=_env("WORKSHOP_LLM_REFRESH"))
    # Backfills send mind calls as Message Batches, at the batch price.
    batch: bool = field(default=False, metadata=_env("WORKSHOP_LLM_BATCH"))
    batch_poll_s: float = field(
        default=30.0, metadata=_env("WORKSHOP_LLM_BATCH_POLL_S", 1.0, 3600.0)
    )
    batch_timeout_s: float = 24 * 3600.0
    # JSON {"model": [input, output, cache_write, cache_read]} ($ per million tokens) over the
    # built-in table (model_prices.DEFAULT_PRICES); empty: the built-in table.
    prices_json: str = field(default="", metadata=_env("WORKSHOP_LLM_PRICES"))
    # The chat-completions server of WORKSHOP_LLM=openai ("": Ollama's on this machine,
    # server_urls.DEFAULT_BASE_URL).
    base_url: str = field(default="", metadata=_env("WORKSHOP_LLM_BASE_URL"))
    # Where the replay cache and the spend ledger are kept ("": the warehouse). The evaluation
    # keeps a model variant's beside its walks, so a walk asked again pays nothing.
    replay_db: str = field(default="", metadata=_env("WORKSHOP_LLM_REPLAY_DB"))


@dataclass(frozen=True)
class Settings:
    """A snapshot of the WORKSHOP_* environment."""

    market: str
    seed: int
    database: Path | str  # a DuckDB file, or a lake's location (store/lake.py)
    data_dir: Path
    runtime_dir: Path
    cycle_cron: str
    start: str
    timezone: str
    llm: str = "offline"
    site_url: str = ""
    llm_settings: LLMSettings = field(default_factory=LLMSettings)
    scoring_interval_s: int = 300
    # Quotes of the cycle's minute from intraday bars where the source has them; false: every
    # quote is the last daily close (the daily walk-forward of `make evaluate`).
    intraday: bool = True
    # Cron strings of ticks of `cycle_cron` that are not cycles (WORKSHOP_CYCLE_SKIP).
    cycle_skip: tuple[str, ...] = ()
    # The live news feeds file (market/news_feeds.py), read with the yfinance source; "": none.
    news_feeds: str = ""
    # An Ed25519 private key file (PEM) that signs each seal of the record; "": unsigned.
    # Only its path is kept here: the key is read when a run seals (predictions/signing.py).
    signing_key: str = ""
    # The mind variant this code location runs (variants.yaml): what of the record the minds
    # are shown.
    variant: str = "baseline"
    # The other variants run side by side in the same warehouse and UI (WORKSHOP_VARIANTS):
    # each has its own assets (key prefix and DuckDB schema = its name) over the shared market.
    side_variants: tuple[str, ...] = ()
    # The paper portfolios' sizing, caps, costs and benchmark (WORKSHOP_PORTFOLIO_*).
    portfolio: PortfolioRules = field(default_factory=PortfolioRules)
    # Where a run's steps execute: in its process, or on Celery workers (config/cluster.py).
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)

    @property
    def market_cache_dir(self) -> Path:
        """Where live downloads are cached, in the `csv:` layout, so a re-run needs no network."""
        return self.data_dir / "market_cache"


class SettingsError(ValueError):
    """A WORKSHOP_* setting is wrong; the message names the variable and what it accepts."""


MARKET_SPECS = "sim, csv:PATH (a folder holding daily/ and rates/) or yfinance"
LLM_ENGINES = ENGINES  # the minds' engines (config/variants.py: a variant may require one)
CALENDAR_FIRST_DAY = "2000-01-03"  # the NYSE calendar the partitions are built from starts here


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate the settings from `env` (default: the process environment).

    Every setting is checked here, when the code location loads (and so by `make validate`),
    before any run can write a row: a wrong one raises `SettingsError` naming the variable and
    the values it accepts."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("WORKSHOP_DATA_DIR") or PROJECT_ROOT / "data").expanduser()
    database = _database(env, data_dir)
    llm = env.get("WORKSHOP_LLM", "offline").strip() or "offline"
    if llm not in LLM_ENGINES:
        raise SettingsError(f"WORKSHOP_LLM={llm!r} is not an engine: use {', '.join(LLM_ENGINES)}")
    llm_settings = _llm_settings(env, llm)
    problem = _engine_problem(llm, env, llm_settings)
    if problem:
        raise SettingsError(
            f"WORKSHOP_LLM={llm} {problem} (or WORKSHOP_LLM=offline for the offline minds)"
        )
    market = env.get("WORKSHOP_MARKET", "sim").strip() or "sim"
    _check_market(market)
    site_url = env.get("WORKSHOP_SITE_URL", "").strip()
    if site_url and not site_url.startswith(("http://", "https://", "/")):
        raise SettingsError(
            f"WORKSHOP_SITE_URL={site_url!r} must be an http(s):// URL or a path from the "
            "web root starting with / (or empty: links relative to the site folder)"
        )
    cron_text = env.get("WORKSHOP_CYCLE_CRON", "").strip()
    cycle_cron = _cron(cron_text or DEFAULT_CYCLE_CRON)
    cycle_skip = _skip(env.get("WORKSHOP_CYCLE_SKIP", ""), cycle_cron)
    variant = _variant(env.get("WORKSHOP_VARIANT", ""), llm, env, llm_settings)
    try:
        executor = executor_settings(env)
    except ClusterSettingsError as exc:
        raise SettingsError(str(exc)) from None
    return Settings(
        executor=executor,
        market=market,
        seed=_number(env, "WORKSHOP_SEED", int, 7, 0, 2**32 - 1),
        database=database,
        data_dir=data_dir,
        runtime_dir=Path(env.get("WORKSHOP_RUNTIME_DIR") or data_dir / "run").expanduser(),
        cycle_cron=cycle_cron,
        cycle_skip=cycle_skip,
        start=_start(env.get("WORKSHOP_START", "").strip() or DEFAULT_START),
        timezone=DEFAULT_TIMEZONE,
        llm=llm,
        site_url=site_url,
        llm_settings=llm_settings,
        scoring_interval_s=_number(env, "WORKSHOP_SCORING_INTERVAL_S", int, 300, 10, 86400),
        intraday=_flag(env, "WORKSHOP_INTRADAY", True),
        news_feeds=_news_feeds(env.get("WORKSHOP_NEWS_FEEDS", "")),
        signing_key=_signing_key(env.get("WORKSHOP_SIGNING_KEY", "")),
        variant=variant,
        side_variants=_side_variants(
            env.get("WORKSHOP_VARIANTS", ""),
            variant,
            llm,
            lake.ALIAS if lake.is_lake(database) else Path(database).stem,
            env,
            llm_settings,
        ),
        portfolio=_portfolio(env),
    )


def _database(env: dict[str, str], data_dir: Path) -> Path | str:
    """The warehouse: a DuckDB file (WORKSHOP_DB, default data/workshop.duckdb), or a shared
    DuckLake (WORKSHOP_DB=ducklake:postgres:<conninfo> with its data in WORKSHOP_LAKE_DATA)."""
    given = env.get("WORKSHOP_DB", "").strip()
    data = env.get("WORKSHOP_LAKE_DATA", "").strip()
    if not lake.is_lake(given):
        if data:
            raise SettingsError(
                "WORKSHOP_LAKE_DATA is set but WORKSHOP_DB names no lake: a lake's catalog is "
                f"WORKSHOP_DB={lake.PREFIX}<conninfo> (or unset WORKSHOP_LAKE_DATA for the file)"
            )
        return Path(given or data_dir / "workshop.duckdb").expanduser()
    problem = lake.location_problem(given, data)
    if problem:
        raise SettingsError(f"WORKSHOP_DB={lake.redacted(given)!r}: {problem}")
    try:
        lake.extension_files()
    except lake.LakeUnavailable as exc:
        raise SettingsError(f"WORKSHOP_DB names a lake, but {exc}") from None
    return lake.location(given, data)


def _portfolio(env: dict[str, str]) -> PortfolioRules:
    """WORKSHOP_PORTFOLIO_*: each checked now, with the range it accepts."""
    try:
        return rules_from_env(env)
    except PortfolioRulesError as exc:
        raise SettingsError(str(exc)) from None


def _variant(text: str, llm: str, env: dict[str, str], llm_settings: LLMSettings) -> str:
    """WORKSHOP_VARIANT: a variant of variants.yaml (default baseline), checked now, with what
    its engine needs."""
    from .variants import VariantsFileError, load_variants

    name = text.strip() or "baseline"
    try:
        variants = load_variants()
    except VariantsFileError as exc:
        raise SettingsError(f"WORKSHOP_VARIANT: {exc}") from None
    if name not in variants:
        raise SettingsError(
            f"WORKSHOP_VARIANT={name!r} is not a variant: use one of {', '.join(variants)}"
        )
    problem = _variant_problem(variants[name], llm, env, llm_settings)
    if problem:
        raise SettingsError(f"WORKSHOP_VARIANT={name} {problem}")
    return name


def _variant_problem(variant, llm: str, env: dict[str, str], llm_settings: LLMSettings):
    """What a variant's engine lacks (None: nothing): the key, the server or a model."""
    from dataclasses import replace

    engine = variant.engine or llm
    if engine == llm and not (variant.base_url or variant.mind_model or variant.synthesis_model):
        return None  # WORKSHOP_LLM's engine and settings, checked already
    overrides = variant.llm_overrides()
    cfg = replace(
        llm_settings,
        **{
            k: overrides[k] for k in ("mind_model", "synthesis_model", "base_url") if k in overrides
        },
    )
    if engine == "openai" and engine != llm and not variant.mind_model:
        return (
            f"runs on a chat-completions server (engine: openai) while WORKSHOP_LLM={llm}: "
            "name its model in the variant (`mind_model`, and `synthesis_model` if another)"
        )
    problem = _engine_problem(engine, env, cfg)
    return f"runs the {engine} minds, which {problem}" if problem else None


def _side_variants(
    text: str,
    main: str,
    llm: str,
    catalog: str,
    env: dict[str, str],
    llm_settings: LLMSettings,
) -> tuple[str, ...]:
    """WORKSHOP_VARIANTS: the variants run beside the code location's own, comma-separated, or
    `none`; unset, every variant of variants.yaml whose minds this install runs (its engine is
    WORKSHOP_LLM's, or it names none). A variant's schema may not share the name of the
    warehouse file (`catalog`, its stem): DuckDB could not tell `name.table` apart."""
    from .variants import load_variants

    variants = load_variants()  # already checked by _variant
    text = text.strip()
    if not text:
        names = [n for n, v in variants.items() if n != main and v.engine in ("", llm)]
    elif text == "none":
        return ()
    else:
        names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name == catalog.lower():
            raise SettingsError(
                f"WORKSHOP_VARIANTS: variant {name} has the name of the warehouse file "
                f"({catalog}.duckdb), so DuckDB could not tell its schema from the file: rename "
                "the variant in variants.yaml, or the file (WORKSHOP_DB)"
            )
        if name not in variants:
            raise SettingsError(
                f"WORKSHOP_VARIANTS: {name!r} is not a variant: use some of "
                f"{', '.join(variants)} (comma-separated), or none"
            )
        if name == main:
            raise SettingsError(
                f"WORKSHOP_VARIANTS: {name} is the code location's own variant "
                "(WORKSHOP_VARIANT): list only the others"
            )
        problem = _variant_problem(variants[name], llm, env, llm_settings)
        if problem:
            raise SettingsError(f"WORKSHOP_VARIANTS: {name} {problem}, or leave {name} out")
    if text and len(set(names)) != len(names):
        raise SettingsError(f"WORKSHOP_VARIANTS: a variant is listed twice in {text!r}")
    return tuple(names)


def _signing_key(text: str) -> str:
    """WORKSHOP_SIGNING_KEY: an Ed25519 private key file (PEM, unencrypted), checked now."""
    from ..predictions.signing import Signer, SigningKeyError

    text = text.strip()
    if not text:
        return ""
    path = Path(text).expanduser()
    try:
        Signer(path).check()
    except SigningKeyError as exc:
        raise SettingsError(f"WORKSHOP_SIGNING_KEY: {exc}") from None
    return str(path)


def _news_feeds(text: str) -> str:
    """WORKSHOP_NEWS_FEEDS: a feeds file (checked now), `none`, or unset (the project's)."""
    from ..market.news_feed_config import DEFAULT_FILE, FeedsFileError, load_feeds

    text = text.strip()
    if text.lower() == "none":
        return ""
    path = Path(text).expanduser() if text else DEFAULT_FILE
    try:
        load_feeds(path)
    except FeedsFileError as exc:
        raise SettingsError(f"WORKSHOP_NEWS_FEEDS={text or str(path)!r}: {exc}") from None
    return str(path)


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
        from ..market.sources import csv_folder

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
    from ..platform.cron import is_valid_cron

    if not is_valid_cron(cron):
        raise SettingsError(
            f"WORKSHOP_CYCLE_CRON={cron!r} is not a five-field cron string "
            f"(minute hour day month weekday, New York time), e.g. {DEFAULT_CYCLE_CRON!r}"
        )
    return cron


def _skip(text: str, cron: str) -> tuple[str, ...]:
    """WORKSHOP_CYCLE_SKIP: cron strings separated by `;` (or `none`; unset: nothing skipped).
    Refused when it is not cron or leaves no tick of the cron a cycle."""
    from ..platform.cron import cron_ticks, is_valid_cron

    text = text.strip()
    if not text or text.lower() == "none":
        return ()
    skip = tuple(part.strip() for part in text.split(";") if part.strip())
    bad = [part for part in skip if not is_valid_cron(part)]
    if bad:
        raise SettingsError(
            f"WORKSHOP_CYCLE_SKIP={text!r}: {bad[0]!r} is not a five-field cron string "
            "(separate several with ';', e.g. '45 19 * * *; 15 9 * * 1', or 'none')"
        )
    # Two weeks of the cron's ticks (every weekday, both kinds of week) against the skipped ones.
    from datetime import datetime

    begin = datetime(2024, 1, 1).timestamp()  # a Monday
    end = begin + 14 * 86400

    def ticks(c: str) -> set[float]:
        out = set()
        for tick in cron_ticks(c, begin, "UTC"):
            if tick.timestamp() >= end:
                return out
            out.add(tick.timestamp())
        return out

    skipped = set().union(*(ticks(part) for part in skip))
    if ticks(cron) <= skipped:
        raise SettingsError(
            f"WORKSHOP_CYCLE_SKIP={text!r} skips every tick of WORKSHOP_CYCLE_CRON={cron!r}: "
            "no cycle would ever run"
        )
    return skip


def _start(start: str) -> str:
    # datetime, not pandas: the settings are read when the code location loads (docs/performance.md)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        day = datetime.fromisoformat(start)
    except ValueError:
        day = None
    today = datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).replace(tzinfo=None)
    if day is None or day.tzinfo is not None:
        raise SettingsError(
            f"WORKSHOP_START={start!r} is not a date: use YYYY-MM-DD (New York), e.g. "
            f"{DEFAULT_START!r}"
        )
    if not datetime.fromisoformat(CALENDAR_FIRST_DAY) <= day <= today:
        raise SettingsError(
            f"WORKSHOP_START={start!r} must be from {CALENDAR_FIRST_DAY} to today "
            f"({today:%Y-%m-%d}): the first cycle must be a day the calendar knows and that has "
            "begun"
        )
    return start


TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(env: dict[str, str], var: str, default: bool) -> bool:
    text = env.get(var, "").strip().lower()
    if not text:
        return default
    if text not in TRUE + FALSE:
        raise SettingsError(f"{var}={text!r} is not true or false")
    return text in TRUE


def _llm_settings(env: dict[str, str], llm: str = "offline") -> LLMSettings:
    """WORKSHOP_LLM_*, each checked now. On a chat-completions server (`openai`) the Claude
    defaults of the models mean nothing: the minds' model must be named, and the synthesis
    runs on it unless WORKSHOP_LLM_SYNTHESIS_MODEL says otherwise."""
    import typing

    kinds = typing.get_type_hints(LLMSettings)
    options = {}
    for f in fields(LLMSettings):
        var = f.metadata.get("env")
        text = env.get(var, "").strip() if var else ""
        if not text:
            continue
        kind = kinds[f.name]
        if kind is bool:
            options[f.name] = _flag(env, var, f.default)
        elif kind is str:
            options[f.name] = text
        else:
            options[f.name] = _number(env, var, kind, None, f.metadata["low"], f.metadata["high"])
    if options.get("prices_json"):
        _check_prices(options["prices_json"])
    if options.get("base_url"):
        problem = url_problem(options["base_url"])
        if problem:
            raise SettingsError(f"WORKSHOP_LLM_BASE_URL {problem}")
    if llm == "openai" and "mind_model" in options:
        options.setdefault("synthesis_model", options["mind_model"])
    return LLMSettings(**options)


def _engine_problem(engine: str, env: dict[str, str], cfg: LLMSettings) -> str | None:
    """What an engine lacks to run (None: nothing): Claude's key; a chat-completions server's
    model, and a price for each model of a server that is not on this machine or network."""
    if engine == "anthropic" and not env.get("ANTHROPIC_API_KEY", "").strip():
        return "needs ANTHROPIC_API_KEY in the environment"
    if engine != "openai":
        return None
    from ..registry.server_urls import DEFAULT_BASE_URL, is_local, public_url

    if cfg.batch:
        return (
            "has no Message Batches (WORKSHOP_LLM_BATCH=true is Claude's): unset it; a "
            "chat-completions server answers a backfill's calls one cycle at a time"
        )
    if cfg.mind_model == LLMSettings.mind_model:
        return (
            "needs WORKSHOP_LLM_MODEL: the model the server serves (e.g. qwen2.5:14b on "
            "Ollama, the --model of a vLLM server)"
        )
    base_url = cfg.base_url or DEFAULT_BASE_URL
    if is_local(base_url):
        return None
    from ..registry.model_prices import price_table

    prices = price_table(cfg.prices_json)
    unpriced = [m for m in dict.fromkeys((cfg.mind_model, cfg.synthesis_model)) if m not in prices]
    if unpriced:
        return (
            f"has no price for {', '.join(map(repr, unpriced))} at {public_url(base_url)} (not on "
            'this machine or network): add it to WORKSHOP_LLM_PRICES, e.g. {"'
            + unpriced[0]
            + '": [input, output, cache_write, cache_read]} in $ per million tokens ([0, 0, 0, '
            "0] for a server of your own)"
        )
    return None


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


_active: Settings | None = None


def use(settings: Settings) -> None:
    """Build the definitions from `settings` instead of the environment: call before
    `workshop_dagster.definitions` (or anything in `defs/`) is imported; after, it is refused,
    since the partitions and resources were already built from the others."""
    global _active
    import sys

    built = "workshop_dagster.lib.per_cycle" in sys.modules
    if built and _active is not None and _active != settings:
        raise RuntimeError("settings.use() after the definitions were built from other settings")
    _active = settings


def active() -> Settings:
    """The settings the code location is built from: those given to `use`, else the
    environment's, read and validated once."""
    global _active
    if _active is None:
        _active = load_settings()
    return _active
