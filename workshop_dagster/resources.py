"""Resources, configured in one place from the WORKSHOP_* settings."""

from __future__ import annotations

import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pydantic

from .config.settings import PROJECT_ROOT, LLMSettings, Settings, active
from .market.sources import MarketSource, csv_folder, open_source
from .platform import quality_worker
from .platform.io_manager import KeptConnection, WarehouseIOManager
from .platform.run_guard import RunGuard
from .store import source_stamp, warehouse

if TYPE_CHECKING:  # pandas and duckdb are imported by the runs, not by the code location's load
    import duckdb
    import pandas as pd

    from .market.daily_view import DailyView
    from .predictions.quality import Failure


class MarketResource(dg.ConfigurableResource):
    """Where quotes and rates come from: `sim` (default), `csv:PATH` or `yfinance`."""

    source: str = "sim"
    seed: int = 7
    cache_dir: str = str(PROJECT_ROOT / "data" / "market_cache")
    # The warehouse this source is bound to (`store.source_stamp.claim_source`); empty: not checked.
    database: str = ""
    # Quotes of the cycle's minute from intraday bars where the source has them.
    intraday: bool = True
    # The live news feeds file (yfinance only); empty: Yahoo's ticker news alone.
    news_feeds: str = ""

    @property
    def identity(self) -> str:
        """The source as the warehouse records it: the simulator with its seed, a csv folder by
        its absolute path, or yfinance."""
        spec = self.source.strip()
        if spec == "sim":
            return f"sim (seed {self.seed})"
        if spec.startswith("csv:"):
            return f"csv:{csv_folder(spec, PROJECT_ROOT)}"
        return spec

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Before any step of the run writes: a run from another source than the warehouse's
        # stops here (source_stamp.MixedSourcesError names both and what to do).
        if self.database:
            source_stamp.claim_source(self.database, self.identity, self.source.split(":")[0])

    def open(self) -> MarketSource:
        return open_source(
            self.source,
            seed=self.seed,
            cache_dir=Path(self.cache_dir),
            base_dir=PROJECT_ROOT,
            news_feeds=self.news_feeds,
        )

    def snapshot(self, cycle_times: Sequence[pd.Timestamp]) -> tuple[DailyView, pd.DataFrame]:
        """The daily bars and the rates the cycles see (`asof.daily_view`)."""
        from .market.asof import daily_view

        return daily_view(self.open(), cycle_times)

    def quotes(
        self, daily: DailyView, cycle_times: Sequence[pd.Timestamp], previous: Sequence
    ) -> pd.DataFrame:
        """Each cycle's quote of each ticker (`market.quotes`), given the daily bars it sees."""
        from .market.asof import quotes_as_of

        return quotes_as_of(self.open(), daily, cycle_times, previous, intraday=self.intraday)

    def scoring_prices(self, start, end, **options) -> pd.DataFrame:
        """Daily closes and, where the source has them, intraday bars (`asof.scoring_prices`:
        options intraday_tickers, intraday_start, daily)."""
        from .market.asof import scoring_prices
        from .market.universe import TICKERS

        return scoring_prices(self.open(), TICKERS, start, end, self.intraday, **options)

    def news(self, tickers: Sequence[str], cycle_times: Sequence[pd.Timestamp]) -> pd.DataFrame:
        """The items the source serves for these cycles' span (what a run adds to the archive;
        `attrs["notes"]` names any feed it skipped)."""
        from .market.news_archive import WINDOW

        cycles = sorted(cycle_times)
        return self.open().news(list(tickers), cycles[0] - WINDOW, cycles[-1])

    def releases(self, cycle_times: Sequence[pd.Timestamp]) -> pd.DataFrame:
        """The scheduled releases these cycles may know (`release_calendar`); none from a
        source without a calendar."""
        cycles = sorted(cycle_times)
        return self.open().releases(cycles[0], cycles[-1])


class _LLMResource(dg.ConfigurableResource):
    """Who writes the opinions and memos: `offline` (deterministic minds), `anthropic` (Claude)
    or `openai` (any chat-completions server). The other config fields are
    `settings.LLMSettings`'s, with its defaults."""

    provider: str = "offline"
    replay_database: str = ""
    # A variant's persona folder (variants.yaml): prompt files that replace the project's.
    personas: str = ""

    def for_variant(self, variant: str):
        """This resource as `variant` runs it: its persona folder and models (variants.yaml)."""
        from .config.variants import load_variants

        # A new resource, not `model_copy`: Dagster configures a run's resource from the
        # arguments it was constructed with, which a copy would not change.
        current = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self)(**(current | load_variants()[variant].llm_overrides()))

    def llm_settings(self) -> LLMSettings:
        return LLMSettings(**{f.name: getattr(self, f.name) for f in fields(LLMSettings)})

    def engine(self):
        if self.provider == "offline":
            from .minds.engine import OfflineEngine

            return OfflineEngine()
        if self.provider in ("anthropic", "openai"):
            from .store.llm_replay import WarehouseReplay
            from .store.llm_spend import WarehouseSpend

            if self.provider == "anthropic":
                from .minds.claude import ClaudeEngine as Engine
            else:
                from .minds.openai_engine import ChatEngine as Engine
            return Engine(
                self.llm_settings(),
                WarehouseReplay(self.replay_database),
                spend=WarehouseSpend(self.replay_database),
                personas=Path(self.personas) if self.personas else None,
            )
        raise ValueError(
            f"unknown WORKSHOP_LLM {self.provider!r}: use offline, anthropic or openai"
        )


# One model for the LLM's settings: the resource's fields are generated from LLMSettings, so a
# setting is declared (with its default and its WORKSHOP_LLM_* variable) in config/settings.py only.
_LLM_KINDS = typing.get_type_hints(LLMSettings)
LLMResource = pydantic.create_model(
    "LLMResource",
    __base__=_LLMResource,
    __module__=__name__,
    **{f.name: (_LLM_KINDS[f.name], f.default) for f in fields(LLMSettings)},
)


class PublishResource(dg.ConfigurableResource):
    """Where posts (Markdown) and the static site (HTML) are written."""

    root: str
    site_url: str = ""

    @property
    def posts_dir(self) -> Path:
        return Path(self.root) / "posts"

    @property
    def site_dir(self) -> Path:
        return Path(self.root) / "site"

    def permalink(self, slug: str) -> str:
        """The post's page: under WORKSHOP_SITE_URL, or (unset) the path from the Markdown
        post in posts/ to its page in site/posts/ (the site links each page to itself)."""
        base = self.site_url.rstrip("/")
        return f"{base}/posts/{slug}.html" if base else f"../site/posts/{slug}.html"


class DataQualityResource(dg.ConfigurableResource):
    """The great_expectations gate on predictions. With `warm_worker` (the default) the
    validation runs in a worker process shared by the project's runs (`quality_worker`): the
    library's slow import (docs/performance.md) is paid once per `idle_seconds` of activity instead of once per run,
    and the run that starts the worker overlaps the import with its first steps."""

    runtime_dir: str  # where the worker's address lives: settings.runtime_dir
    warm_worker: bool = True
    idle_seconds: int = quality_worker.IDLE_SECONDS

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.warm_worker:
            quality_worker.start(self.runtime_dir, self.idle_seconds)

    def validate_predictions(self, frame: pd.DataFrame, n_cycles: int) -> tuple[list[Failure], int]:
        """(failures, expectations evaluated): see `predictions.quality.validate_predictions`."""
        if self.warm_worker:
            return quality_worker.validate(frame, n_cycles, self.runtime_dir, self.idle_seconds)
        from .predictions.quality import validate_predictions

        return validate_predictions(frame, n_cycles)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file, for SQL models and reads outside the IO manager."""

    database: str

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(self.database) as conn:
            yield conn

    @contextmanager
    def one_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Every write of this thread to the warehouse inside the block, the IO manager's
        included, in one transaction (`warehouse.one_transaction`)."""
        with warehouse.one_transaction(self.database) as conn:
            yield conn


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or active()
    database = str(settings.database)
    run_guard, kept_connection = RunGuard(), KeptConnection()
    return {
        "market": MarketResource(
            source=settings.market,
            seed=settings.seed,
            cache_dir=str(settings.market_cache_dir),
            database=database,
            intraday=settings.intraday,
            news_feeds=settings.news_feeds,
        ),
        "warehouse": WarehouseResource(database=database),
        "llm": LLMResource(
            provider=settings.llm,
            replay_database=settings.llm_settings.replay_db or database,
            **asdict(settings.llm_settings),
        ).for_variant(settings.variant),
        "data_quality": DataQualityResource(runtime_dir=str(settings.runtime_dir)),
        "publisher": PublishResource(root=str(settings.data_dir), site_url=settings.site_url),
        # What a run does besides storing, each visible here: the dead-run guard and the
        # warehouse connection kept between the run's uses; the IO manager starts both.
        "run_guard": run_guard,
        "kept_connection": kept_connection,
        "io_manager": WarehouseIOManager(
            database=database,
            schema="main",
            run_guard=run_guard,
            kept_connection=kept_connection,
        ),
    }
