"""The deliberation step: the loop's five tables (context, opinions, debate, memo, predictions)
and the call ledger, for a cycle or a range, from `minds/loop.py`.

One step, because each cycle depends on the calls of the cycles before it (`minds/loop.py`). The
loop closes through the warehouse, not through a graph edge (scores -> context would be a cycle
in the asset graph): the step reads the predictions made before its first cycle, and the prices
that score them, and hands them to the loop.

(Over 350 lines: the step, its inputs read as of the range, its six outputs written in one
transaction, and the failures that say how to resume.)
"""

from dataclasses import asdict
from typing import TYPE_CHECKING

import dagster as dg

from ...lib.partitions import cycle_ordinal, key_to_time
from ...lib.per_cycle import (
    CYCLE_TABLE,
    PARTITIONS,
    PER_CYCLE,
    SETTINGS,
    amending,
    permanent_errors_fail_fast,
    previous_cycle_time,
    run_cycles,
)
from ...lib.variant_jobs import LOOP_OUTPUTS
from ...lib.variant_place import VariantPlace
from ...minds.llm_errors import BudgetExceeded, LLMCallFailed
from ...minds.progress import to_terminal
from ...platform.metadata import for_run
from ...resources import LLMResource, MarketResource, WarehouseResource
from ...store.warehouse import WriteConflict

# How often a deliberation refused at commit by another writer of a shared lake runs again.
CONFLICT_RETRIES = 5

if TYPE_CHECKING:
    import pandas as pd

# Each output of the step (`variant_jobs.LOOP_OUTPUTS` names them): its group and description.
DESCRIBED = {
    "mind_context": (
        "minds",
        "What the minds are shown per cycle, all as of the cycle time: features, regime, "
        "news, lessons (JSON), and `record_id`, the record it showed (track record, "
        "calibration, rules), stored once for the cycles that share it in context_records.",
    ),
    "mind_opinions": (
        "minds",
        "Macro, Flow and Contrarian: stance, narrative and a call, or an explicit abstention.",
    ),
    "debate": (
        "minds",
        "How the three calls line up (aligned_bearish, split, ...), with each "
        "mind's confidence and the conviction.",
    ),
    "memo": (
        "minds",
        "The first-person synthesis memo in the seeds' layout, ending in the "
        "prediction tag and the debate footer.",
    ),
    "predictions": (
        "predictions",
        "One row per call (synthesis and each mind), parsed from "
        "its tag; parse failures are rows with the reason.",
    ),
    "llm_calls": (
        "minds",
        "The call ledger: per model call, the cycle, mind, model, prompt hash, tokens (cache "
        "reads and writes included), cost, latency, retries and outcome (ok, replayed, "
        "failed). Empty with the offline minds.",
    ),
}


def _prior_predictions(
    wh: WarehouseResource, before: "pd.Timestamp", schema: str
) -> "pd.DataFrame":
    """The variant's own calls before `before` (its schema's `predictions`): never another's."""
    from ...store import asset_rows

    with wh.connect() as conn:
        return asset_rows.calls_before(conn, before, schema)


def _scoring_prices(market: MarketResource, prior: "pd.DataFrame", first_needed, cycles):
    """Daily closes since the first prior call; intraday bars of every ticker for the run's own
    cycles, and before them only for the tickers of prior calls made at the minute."""
    import pandas as pd

    from ...predictions.scoring import minute_legs

    recent = cycles[0] - pd.Timedelta(days=8)
    prices = market.scoring_prices(
        first_needed - pd.Timedelta(days=10), cycles[-1], intraday_start=recent
    )
    series = prior.get("price_series", pd.Series(dtype=object))
    minute = prior[(series == "intraday") & (prior["cycle_ts"] < recent)] if len(prior) else prior
    if len(minute) == 0:
        return prices
    legs = minute_legs(minute)
    older = market.scoring_prices(
        minute["cycle_ts"].min() - pd.Timedelta(days=1), recent, intraday_tickers=legs, daily=False
    )
    both = pd.concat([older, prices], ignore_index=True)
    return both.drop_duplicates(["ticker", "bar_ts", "series"], keep="last")


def _sealed(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    memo,
    predictions,
    variant: str,
    schema: str,
):
    """Each call's cycle seal (the latest row for its cycle of the variant's own chain)."""
    from ...config.settings import active
    from ...predictions import seals
    from ...predictions.signing import SigningKeyError, signer_for

    amend = amending(context)
    signer = signer_for(active().signing_key)
    try:
        with warehouse.connect() as conn:
            seals.claim_variant(conn, schema, variant)
            sealed = seals.seal(
                conn, seals.contents(memo, predictions), amend, signer, schema=schema
            )
    except (seals.SealedRecordError, SigningKeyError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    return predictions["cycle_key"].map(sealed)


def _latest_provenance(context_row: dict, memo_body: str, records, news) -> str:
    """What the run's last call was made from (publish/provenance.py), for the memo's metadata."""
    from ...minds.cycle_context import full_document
    from ...publish.provenance import provenance_markdown

    items = {r["item_id"]: r for r in news.drop_duplicates("item_id").to_dict("records")}
    return provenance_markdown(
        full_document(context_row["context_json"], records, items), memo_body
    )


def _published(context, warehouse: WarehouseResource, schema: str, engine) -> dict:
    """The run's sealed cycles, left as published (minds/published.py), unless the run amends;
    a run whose writer is not the one that sealed them is refused by name."""
    from ...minds.published import load, sealed_in, writer_problem

    if amending(context):
        return {}
    with warehouse.connect() as conn:
        published = load(conn, schema, sealed_in(conn, schema, list(context.partition_keys)))
    problem = writer_problem(published, engine.writer)
    if problem:
        raise dg.Failure(description=problem, allow_retries=False)
    if published:
        context.log.info(
            f"{len(published)} sealed cycle(s) of this run left as published (a sealed cycle is "
            "history; the run tag workshop/amend=true recomputes them)"
        )
    return published


def _with_published_ledger(warehouse: WarehouseResource, schema: str, ledger, published):
    """The run's call ledger with the published cycles' stored rows (replaced by the write)."""
    import pandas as pd

    if not published:
        return ledger
    from ...store import asset_rows

    with warehouse.connect() as conn:
        stored = asset_rows.ledger_of(conn, [c.cycle_key for c in published.values()], schema)
    if stored.empty:
        return ledger
    stored = stored.reindex(columns=ledger.columns).astype(ledger.dtypes.to_dict())
    return pd.concat([ledger, stored], ignore_index=True)


def _with_stored(warehouse: WarehouseResource, records: dict, context_json: str) -> dict:
    """The run's new context records, and the one `context_json` names if the run did not
    make it (a sealed cycle left as published shows a record stored before)."""
    import json

    wanted = json.loads(context_json).get("record_id")
    if wanted is None or wanted in records:
        return records
    from ...store import context_records

    with warehouse.connect() as conn:
        held = context_records.read(conn, [wanted])
    return {**records, **held}


def _news_read(warehouse: WarehouseResource, news_items):
    """Each cycle's news items (`news_items` names them) with their archive rows."""
    from ...market import news_archive

    with warehouse.connect() as conn:
        rows = news_archive.items(conn, news_items["item_id"].tolist())
    return news_items[["cycle_key", "cycle_ts", "item_id"]].merge(rows, on="item_id")


def _releases_known(warehouse: WarehouseResource, cycles) -> dict:
    """Each cycle's scheduled releases, due and just out (`release_calendar.around`)."""
    from ...market import release_calendar

    with warehouse.connect() as conn:
        return release_calendar.rows_by_cycle(release_calendar.around(conn, cycles))


def _missing_market(cycles, cycle_features) -> list:
    """The run's cycles with no market features stored (a variant reads the shared ones)."""
    have = set(cycle_features["cycle_ts"]) if len(cycle_features) else set()
    return [c for c in cycles if c not in have]


def build_deliberation(variant: str, side: bool = False) -> dg.AssetsDefinition:
    """The deliberation of `variant`: the code location's own, or a side variant's (`side`:
    placed by `VariantPlace`), which reads the one set of market and feature assets every
    variant shares and writes its own calls, record and seals."""
    place = VariantPlace(variant, side)

    def out(name: str, group: str, desc: str) -> dg.AssetOut:
        return dg.AssetOut(
            key=place.key(name),
            group_name=place.group(group),
            description=place.described(desc),
            metadata={**CYCLE_TABLE, "allow_empty": name == "llm_calls", **place.metadata},
            kinds={"duckdb", "pandas"},
        )

    @dg.multi_asset(
        name=f"{variant}_deliberation" if side else "deliberation",
        outs={name: out(name, *DESCRIBED[name]) for name in LOOP_OUTPUTS},
        ins={
            "cycle_features": dg.AssetIn(),
            "regime_labels": dg.AssetIn(),
            "macro_rates": dg.AssetIn(),
            "news_items": dg.AssetIn(),
        },
        **PER_CYCLE,
        # The step that calls the model sits in its own pool ("llm"); its writes go through the
        # warehouse lock like every other write.
        pool="llm",
        can_subset=False,
    )
    def deliberation(
        context: dg.AssetExecutionContext,
        # DataFrames (the IO manager's default load type): unannotated, so the code location's
        # load does not import pandas (docs/performance.md); the same for the domain modules.
        cycle_features,
        regime_labels,
        macro_rates,
        news_items,
        market: MarketResource,
        llm: LLMResource,
        warehouse: WarehouseResource,
    ):
        try:
            yield from _deliberate(
                context,
                place,
                (cycle_features, regime_labels, macro_rates, news_items),
                market,
                llm,
                warehouse,
            )
        except WriteConflict as exc:
            # A shared lake: another run sealed or wrote these tables first, and nothing of this
            # step was kept; again after a pause, on the record as it now stands (its model
            # calls answered from the replay cache, at no cost).
            raise dg.RetryRequested(max_retries=CONFLICT_RETRIES, seconds_to_wait=2) from exc

    return deliberation


def _deliberate(context, place: VariantPlace, inputs, market, llm, warehouse):
    """The body of a variant's deliberation (build_deliberation)."""
    cycle_features, regime_labels, macro_rates, news_items = inputs
    variant, schema, key = place.variant, place.schema, place.key

    import pandas as pd

    from ...minds.context import Feedback
    from ...minds.loop import TIME_COLUMNS, deliberate, resume_advice
    from ...minds.spend import LEDGER_FIELDS
    from ...predictions import record_head
    from ...store import context_records

    run = sorted(run_cycles(context))
    cycles = [c.time for c in run]
    missing = _missing_market(cycles, cycle_features)
    if missing:
        raise dg.Failure(
            description=f"{len(missing)} cycle(s) of this run have no market features, first "
            f"{missing[0]:%Y-%m-%d %H:%M}: the minds read the market and feature assets every "
            "variant shares; materialize them first (the `cycle` job, or the `market` group "
            "for these cycles), then run the variant again.",
            allow_retries=False,
        )
    news = _news_read(warehouse, news_items)
    releases = _releases_known(warehouse, cycles)
    # A side variant's own personas and models (variants.yaml); the code location's variant's
    # are the resource's already (resources.build_resources).
    engine = (llm.for_variant(variant) if place.side else llm).engine()
    published = _published(context, warehouse, schema, engine)
    try:
        prior = _prior_predictions(warehouse, cycles[0], schema)
        first_needed = prior["cycle_ts"].min() if len(prior) else cycles[0]
        with permanent_errors_fail_fast():
            prices = _scoring_prices(market, prior, first_needed, cycles)
        out, minds_s = deliberate(
            engine,
            run,
            (cycle_features, regime_labels, macro_rates, news),
            prices,
            prior,
            lambda key: cycle_ordinal(key, PARTITIONS),
            previous_cycle_time,
            report=lambda line: (context.log.info(line), to_terminal(line)),
            feedback=Feedback.of_variant(variant),
            published=published,
            releases=releases,
        )
    except (LLMCallFailed, BudgetExceeded) as exc:
        raise dg.Failure(description=resume_advice(exc, run, engine), allow_retries=False) from None
    finally:
        # A Claude engine stores the replies it received in the replay cache, and every request
        # it sent in the spend ledger, before the step ends, even when it fails.
        engine.close()
    # Fixed types whichever engine writes first (the offline ledger is empty).
    ledger = pd.DataFrame(engine.ledger, columns=list(LEDGER_FIELDS)).astype(LEDGER_FIELDS)
    ledger.insert(
        1,
        "cycle_ts",
        pd.Series([key_to_time(k) for k in ledger["cycle_key"]], dtype="datetime64[ns]"),
    )
    # What this run asked and paid (the metadata's figures), before the sealed cycles left as
    # published get back the ledger rows they were written with.
    calls = ledger
    ledger = _with_published_ledger(warehouse, schema, ledger, published)
    # The records the contexts name, each stored once (append-only: store/context_records.py).
    records = out.pop("context_records")
    with warehouse.connect() as conn:
        new_records = context_records.store(conn, records)
    last_context = out["mind_context"][-1]
    provenance = _latest_provenance(
        last_context,
        out["memo"][-1]["body"],
        _with_stored(warehouse, records, last_context["context_json"]),
        news,
    )
    frames = {
        name: pd.DataFrame(rows)
        for name, rows in out.items()
        if name not in ("predictions", "llm_calls")
    }
    frames["llm_calls"] = ledger
    # From records, not pd.concat: a cycle whose calls are all abstentions has all-NA columns.
    predictions = pd.DataFrame([r for cycle in out["predictions"] for r in cycle])
    for col in TIME_COLUMNS:
        predictions[col] = pd.to_datetime(predictions[col]).astype("datetime64[ns]")
    frames["mind_context"]["known_through"] = pd.to_datetime(
        frames["mind_context"]["known_through"]
    ).astype("datetime64[ns]")
    last = out["memo"][-1]
    usage = {
        "cost_usd": float(calls["cost_usd"].sum()),
        "input_tokens": int(
            calls[["input_tokens", "cache_read_tokens", "cache_write_tokens"]].to_numpy().sum()
        ),
        "output_tokens": int(calls["output_tokens"].sum()),
        "api_calls": int((calls["outcome"] == "ok").sum()),
        "replayed_calls": int((calls["outcome"] == "replayed").sum()),
    }
    # The cycles' seals, memos, calls and the rest land in one transaction, or none of them does
    # (a run killed between two outputs leaves no seal without its calls). Sealed before any
    # outcome is known (predictions/seals.py): a rewrite of a sealed cycle is refused unless
    # the run asks to amend, before anything is written.
    with warehouse.one_transaction() as conn:
        predictions["seal"] = _sealed(
            context, warehouse, frames["memo"], predictions, variant, schema
        )
        frames["predictions"] = predictions
        head = record_head.stored(conn, schema)
        yield dg.Output(
            frames["mind_context"],
            "mind_context",
            metadata=for_run(
                context,
                key("mind_context"),
                {
                    "cycles": len(cycles),
                    "rules_at_last_cycle": out["mind_context"][-1]["n_rules"],
                    "records_stored": new_records,
                    # What of the record the minds were shown (variants.yaml).
                    "variant": variant,
                },
            ),
        )
        yield dg.Output(
            frames["mind_opinions"],
            "mind_opinions",
            metadata=for_run(
                context,
                key("mind_opinions"),
                {"abstentions": int(frames["mind_opinions"]["abstained"].sum())},
            ),
        )
        yield dg.Output(
            frames["debate"],
            "debate",
            metadata=for_run(
                context,
                key("debate"),
                {
                    "labels": dg.MetadataValue.json(
                        frames["debate"]["label"].value_counts().to_dict()
                    )
                },
            ),
        )
        yield dg.Output(
            frames["memo"],
            "memo",
            metadata=for_run(
                context,
                key("memo"),
                {
                    "latest_memo": dg.MetadataValue.md(last["body"]),
                    "latest_made_from": dg.MetadataValue.md(provenance),
                    "latest_title": last["title"],
                    "abstained": int(frames["memo"]["abstained"].sum()),
                    "engine": engine.name,
                    # From the first cycle's context to the last memo, per cycle: the minds' and the
                    # synthesis's calls (concurrent minds: about two model latencies), without the
                    # step's reads and writes.
                    "minds_seconds_per_cycle": round(minds_s / len(cycles), 3),
                    **usage,
                },
            ),
        )
        yield dg.Output(
            frames["llm_calls"], "llm_calls", metadata=for_run(context, key("llm_calls"), usage)
        )
        yield dg.Output(
            frames["predictions"],
            "predictions",
            metadata=for_run(
                context,
                key("predictions"),
                {"parse_errors": int((frames["predictions"]["parse_status"] == "error").sum())},
            ),
        )
    if isinstance(head, record_head.Head):
        # The record's head as this run left it, kept in the instance (not the warehouse):
        # `verify` finds a chain trimmed below it (predictions/record_head.py). Once committed:
        # a head observed and then not written would read as a trimmed chain.
        yield dg.AssetObservation(
            asset_key=key("predictions"),
            metadata={"record_head": dg.MetadataValue.json(asdict(head))},
        )


# The code location's own variant (WORKSHOP_VARIANT), and each side variant (WORKSHOP_VARIANTS).
deliberation = build_deliberation(SETTINGS.variant)
variant_deliberations = [build_deliberation(v, side=True) for v in SETTINGS.side_variants]
