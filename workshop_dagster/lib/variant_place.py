"""Where a variant's assets live in the graph and the warehouse: the code location's own
variant unprefixed, in schema `main` and the loop's groups; a side variant (WORKSHOP_VARIANTS)
under its name as key prefix, DuckDB schema and group `variant_<name>`. Every factory of the
per-variant assets (deliberation, scores, checks, SQL models, jobs) asks it, so the rule is
written once."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from ..config.variants import variant_group


@dataclass(frozen=True)
class VariantPlace:
    variant: str
    side: bool = False

    @property
    def schema(self) -> str:
        return self.variant if self.side else "main"

    def key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([self.variant, name] if self.side else [name])

    def group(self, loop_group: str) -> str:
        """The asset group: the loop's `loop_group`, or the side variant's own."""
        return variant_group(self.variant) if self.side else loop_group

    @property
    def metadata(self) -> dict[str, str]:
        """What an asset's metadata adds: the side variant's schema for the IO manager (which
        would otherwise write every key to `main`)."""
        return {"schema": self.schema} if self.side else {}

    def described(self, text: str) -> str:
        return f"{text} (variant {self.variant})" if self.side else text
