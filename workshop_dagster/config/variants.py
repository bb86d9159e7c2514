"""Mind variants: named configurations of the minds and the synthesis, declared in one file
(`variants.yaml`), so two configurations can be compared on identical history.

This module is domain code: it reads and checks the file and says what a variant shows the
minds. How the record is shown (or withheld, or replaced by a placebo) is `minds/context.py`'s
`Feedback`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("variants.yaml")
# Where `make evaluate` writes each variant's walks and `make compare` its comparisons.
EVALUATIONS = Path(__file__).resolve().parents[2] / "data" / "evaluation"
FEEDBACK = ("on", "off", "placebo")


class VariantsFileError(ValueError):
    """The variants file is missing, unreadable or names something that does not exist."""


# Names a variant cannot take: DuckDB's own schemas, and the asset groups of the loop.
RESERVED = frozenset(
    {"main", "temp", "memory", "information_schema", "pg_catalog", "system"}
    | {"market", "minds", "predictions", "track_record", "publish", "variants"}
)
ENGINES = ("offline", "anthropic", "openai")  # the minds' engines: WORKSHOP_LLM's values too


@dataclass(frozen=True)
class Variant:
    name: str
    feedback: str = "on"
    placebo_offset_days: int = 182
    description: str = ""
    # The minds' engine the variant needs ("": whichever WORKSHOP_LLM says).
    engine: str = ""
    # A folder of prompt files (house.md, synthesis.md, a mind's) replacing the project's for
    # the Claude minds: another persona on the same history; "" for none.
    personas: str = ""
    # The models of the minds and of the synthesis ("": WORKSHOP_LLM_MODEL's and
    # WORKSHOP_LLM_SYNTHESIS_MODEL's), on the variant's engine (anthropic or openai).
    mind_model: str = ""
    synthesis_model: str = ""
    # The chat-completions server of an `openai` variant ("": WORKSHOP_LLM_BASE_URL's).
    base_url: str = ""
    # The calibration's pseudo-calls (minds/calibration.py: base, direction, bin, regime) the
    # variant changes; empty: the loop's.
    calibration: tuple[tuple[str, int], ...] = ()
    # The paper portfolios' sizing the variant sets (kelly_fraction, position_cap, gross_cap);
    # empty: WORKSHOP_PORTFOLIO_*'s.
    sizing: tuple[tuple[str, float], ...] = ()

    def portfolio_rules(self, base):
        """`base` (a PortfolioRules: the settings') with the variant's own sizing."""
        from dataclasses import replace

        return replace(base, **dict(self.sizing)) if self.sizing else base

    @property
    def priors(self) -> dict[str, int] | None:
        return dict(self.calibration) or None

    def llm_overrides(self) -> dict[str, str]:
        """What the variant changes of the LLM resource: its engine, server, personas and
        models. An `openai` variant naming only its minds' model has its synthesis on it too."""
        out = {"personas": self.personas}
        if self.engine:
            out["provider"] = self.engine
        if self.engine == "openai" and self.mind_model and not self.synthesis_model:
            out["synthesis_model"] = self.mind_model
        out |= {
            k: v
            for k, v in (
                ("mind_model", self.mind_model),
                ("synthesis_model", self.synthesis_model),
                ("base_url", self.base_url),
            )
            if v
        }
        return out


def evaluation_folder(variant: str, root: Path | None = None) -> Path:
    """Where a variant's walks write by default (the daily walk there, the intraday one in its
    `intraday/`), under `root` (default data/evaluation)."""
    base = Path(root) if root is not None else EVALUATIONS
    return base if variant == "baseline" else base / "variants" / variant


def variant_group(variant: str) -> str:
    """The asset group of a side variant's assets (its minds, calls, scores and record)."""
    return f"variant_{variant}"


CALIBRATION_PRIORS = ("base", "direction", "bin", "regime")


def _calibration(fields, where: str) -> tuple[tuple[str, int], ...]:
    """A variant's `calibration`: pseudo-calls by step, whole numbers from 0 to 10,000."""
    if fields is None:
        return ()
    if not isinstance(fields, dict) or not fields:
        raise VariantsFileError(
            f"{where}: calibration must map some of {', '.join(CALIBRATION_PRIORS)} to a "
            "number of pseudo-calls"
        )
    out = []
    for key, value in fields.items():
        if key not in CALIBRATION_PRIORS:
            raise VariantsFileError(
                f"{where}: calibration {key!r} is not one of {', '.join(CALIBRATION_PRIORS)}"
            )
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10000:
            raise VariantsFileError(
                f"{where}: calibration {key} {value!r} is not a whole number of pseudo-calls "
                "from 0 to 10000"
            )
        out.append((key, value))
    return tuple(sorted(out))


SIZING = ("kelly_fraction", "position_cap", "gross_cap")


def _sizing(fields, where: str) -> tuple[tuple[str, float], ...]:
    """A variant's `sizing`: some of SIZING, each checked as WORKSHOP_PORTFOLIO_* is."""
    from ..portfolio.rules import PortfolioRules, PortfolioRulesError

    if fields is None:
        return ()
    if not isinstance(fields, dict) or not fields:
        raise VariantsFileError(f"{where}: sizing must map some of {', '.join(SIZING)} to numbers")
    for key, value in fields.items():
        if key not in SIZING:
            raise VariantsFileError(f"{where}: sizing {key!r} is not one of {', '.join(SIZING)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise VariantsFileError(f"{where}: sizing {key} {value!r} is not a number")
    try:
        PortfolioRules(**{k: float(v) for k, v in fields.items()})
    except PortfolioRulesError as exc:
        raise VariantsFileError(f"{where}: sizing: {exc}") from None
    return tuple(sorted((k, float(v)) for k, v in fields.items()))


def load_variants(path: Path = DEFAULT_FILE) -> dict[str, Variant]:
    """The variants of `path`, checked: a clear error names the variant and the field."""
    import yaml

    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise VariantsFileError(f"{path}: {exc}") from None
    entries = (doc or {}).get("variants") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise VariantsFileError(f"{path}: no `variants:` mapping")
    out = {}
    for name, fields in entries.items():
        if (
            not isinstance(name, str)
            or not name.replace("_", "").isalnum()
            or not name.isascii()
            or not name[0].isalpha()
            or name != name.lower()
        ):
            raise VariantsFileError(
                f"{path}: variant name {name!r}: use lower-case letters, digits and _, "
                "starting with a letter (it names the variant's assets and DuckDB schema)"
            )
        if name in RESERVED:
            raise VariantsFileError(
                f"{path}: variant name {name!r} is taken by the warehouse or the asset graph"
            )
        fields = fields or {}
        unknown = set(fields) - {
            "feedback",
            "placebo_offset_days",
            "description",
            "engine",
            "personas",
            "mind_model",
            "synthesis_model",
            "base_url",
            "calibration",
            "sizing",
        }
        if unknown:
            raise VariantsFileError(f"{path}: variant {name}: unknown field(s) {sorted(unknown)}")
        feedback = str(fields.get("feedback", "on"))
        if feedback not in FEEDBACK:
            raise VariantsFileError(
                f"{path}: variant {name}: feedback {feedback!r} is not one of {', '.join(FEEDBACK)}"
            )
        offset = fields.get("placebo_offset_days", 182)
        if not isinstance(offset, int) or not 30 <= offset <= 3650:
            raise VariantsFileError(
                f"{path}: variant {name}: placebo_offset_days {offset!r} is not a whole number of "
                "days from 30 to 3650"
            )
        engine = str(fields.get("engine", ""))
        if engine and engine not in ENGINES:
            raise VariantsFileError(
                f"{path}: variant {name}: engine {engine!r} is not one of {', '.join(ENGINES)}"
            )
        personas = ""
        if fields.get("personas"):
            folder = (Path(path).parent / str(fields["personas"])).resolve()
            if not folder.is_dir() or not any(folder.glob("*.md")):
                raise VariantsFileError(
                    f"{path}: variant {name}: personas {fields['personas']!r} is not a folder "
                    "of prompt files (.md)"
                )
            personas = str(folder)
        models = {}
        for key in ("mind_model", "synthesis_model"):
            value = fields.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip() or len(value) > 100:
                raise VariantsFileError(
                    f"{path}: variant {name}: {key} {value!r} is not a model name"
                )
            models[key] = value.strip()
        if models and engine not in ("anthropic", "openai"):
            raise VariantsFileError(
                f"{path}: variant {name}: {', '.join(models)} names a model; add "
                "`engine: anthropic` or `engine: openai` (the offline minds have no model)"
            )
        base_url = fields.get("base_url")
        if base_url is not None:
            from ..registry.server_urls import url_problem

            if engine != "openai":
                raise VariantsFileError(
                    f"{path}: variant {name}: base_url names a chat-completions server; add "
                    "`engine: openai`"
                )
            problem = url_problem(str(base_url))
            if problem:
                raise VariantsFileError(f"{path}: variant {name}: base_url {problem}")
            models["base_url"] = str(base_url).strip()
        out[name] = Variant(
            name,
            feedback,
            offset,
            str(fields.get("description", "")),
            engine,
            personas,
            **models,
            calibration=_calibration(fields.get("calibration"), f"{path}: variant {name}"),
            sizing=_sizing(fields.get("sizing"), f"{path}: variant {name}"),
        )
    if "baseline" not in out:
        raise VariantsFileError(f"{path}: the `baseline` variant (the loop as it runs) is missing")
    return out
