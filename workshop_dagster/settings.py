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


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the settings from `env` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("WORKSHOP_DATA_DIR", PROJECT_ROOT / "data")).expanduser()
    database = Path(env.get("WORKSHOP_DB", data_dir / "workshop.duckdb")).expanduser()
    seed_text = env.get("WORKSHOP_SEED", "7")
    try:
        seed = int(seed_text)
    except ValueError as exc:
        raise ValueError(f"WORKSHOP_SEED must be an integer, got {seed_text!r}") from exc
    return Settings(
        market=env.get("WORKSHOP_MARKET", "sim").strip() or "sim",
        seed=seed,
        database=database,
        data_dir=data_dir,
        runtime_dir=Path(env.get("WORKSHOP_RUNTIME_DIR", data_dir / "run")).expanduser(),
        cycle_cron=env.get("WORKSHOP_CYCLE_CRON", DEFAULT_CYCLE_CRON),
        start=env.get("WORKSHOP_START", DEFAULT_START),
        timezone=DEFAULT_TIMEZONE,
        llm=env.get("WORKSHOP_LLM", "offline").strip() or "offline",
        site_url=env.get("WORKSHOP_SITE_URL", ""),
        llm_options=_llm_options(env),
        scoring_interval_s=int(env.get("WORKSHOP_SCORING_INTERVAL_S", "300")),
    )


LLM_SETTINGS = {
    # variable: (LLMResource field, type)
    "WORKSHOP_LLM_MODEL": ("mind_model", str),
    "WORKSHOP_LLM_SYNTHESIS_MODEL": ("synthesis_model", str),
    "WORKSHOP_LLM_MAX_TOKENS": ("max_tokens", int),
    "WORKSHOP_LLM_TIMEOUT_S": ("timeout_s", float),
    "WORKSHOP_LLM_MAX_RETRIES": ("max_retries", int),
    "WORKSHOP_LLM_BUDGET_USD": ("budget_usd", float),
    "WORKSHOP_LLM_REFRESH": ("refresh", bool),
    "WORKSHOP_LLM_PRICES": ("prices_json", str),
    "WORKSHOP_LLM_BATCH": ("batch", bool),
    "WORKSHOP_LLM_BATCH_POLL_S": ("batch_poll_s", float),
}


def _llm_options(env: dict[str, str]) -> dict:
    options = {}
    for var, (name, kind) in LLM_SETTINGS.items():
        if var not in env or env[var] == "":
            continue
        text = env[var]
        try:
            if kind is bool:
                options[name] = text.strip().lower() in ("1", "true", "yes", "on")
            else:
                options[name] = kind(text)
        except ValueError as exc:
            raise ValueError(f"{var} must be a {kind.__name__}, got {text!r}") from exc
    return options
