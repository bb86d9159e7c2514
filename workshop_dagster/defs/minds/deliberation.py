"""The loop: context, minds, debate, memo and parsed predictions, one cycle after another.

These five tables come from one step because each cycle depends on the calls of the cycles
before it (their scores, lessons and rules, as of its own time). A range of cycles is computed in
time order in a single run, so a backfill produces exactly what the loop would have produced live.
The loop closes through the warehouse, not through a graph edge (scores -> context would be a
cycle in the asset graph): each cycle reads earlier predictions and scores them as of its time.
"""

import json
import time

import dagster as dg
import pandas as pd

from ... import warehouse
from ...cycle_assets import CYCLE_TABLE, PARTITIONS, cycle_times, permanent_errors_fail_fast
from ...market.asof import publish_bars
from ...market.universe import TICKERS
from ...minds.claude import BudgetExceeded, LLMCallFailed
from ...minds.context import CycleHistory, build_context, subject_kind, waves
from ...minds.debate import debate_row
from ...minds.spend import LEDGER_FIELDS
from ...minds.types import Opinion
from ...partitions import cycle_ordinal, key_to_time, time_to_key
from ...predictions.horizon import timeframe_bucket
from ...predictions.tags import format_tag, parse_tag
from ...resources import LLMResource, MarketResource, WarehouseResource

LOOP_OUTPUTS = {
    "mind_context": (
        "minds",
        "What the minds are shown per cycle, all as of the cycle time: "
        "features, regime, news, track record, lessons, rules (JSON).",
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


def _resume_advice(exc: Exception, cycles: list[pd.Timestamp], engine) -> str:
    """What failed, that nothing was written, and how to go on without paying twice."""
    answered = sum(r["outcome"].startswith("ok") for r in getattr(engine, "ledger", []))
    first, last = time_to_key(cycles[0]), time_to_key(cycles[-1])
    span = first if first == last else f"{first} to {last}"
    return (
        f"{exc}\n\nNothing of this run was written: a run writes all its cycles or none. "
        f"The {answered} calls answered before the failure are stored (llm_replay, and their "
        f"cost in llm_spend). To resume, run the same cycles again ({span}): in the UI, "
        "Materialize that range of the cycle job; from the CLI, `dagster job execute -m "
        "workshop_dagster.definitions -j cycle --tags "
        f'\'{{"dagster/asset_partition_range_start": "{first}", '
        f'"dagster/asset_partition_range_end": "{last}"}}\'`. Answered calls replay from '
        "the cache at no cost; only the rest are paid."
    )


def _context(cycle_ts, cycle_features, regime_labels, macro_rates, news_items, history) -> dict:
    key = cycle_ts.strftime("%Y-%m-%d-%H:%M")
    feats = cycle_features[cycle_features["cycle_ts"] == cycle_ts]
    regime = regime_labels[regime_labels["cycle_ts"] == cycle_ts]
    if feats.empty or regime.empty:
        raise ValueError(
            f"cycle {key} has no features or regime label: materialize the market group for it first"
        )
    return build_context(
        key,
        cycle_ts,
        cycle_ordinal(key, PARTITIONS),
        feats,
        regime.iloc[0].to_dict(),
        macro_rates[macro_rates["cycle_ts"] == cycle_ts],
        news_items[news_items["cycle_ts"] == cycle_ts],
        history,
    )


def _prior_predictions(wh: WarehouseResource, before: pd.Timestamp) -> pd.DataFrame:
    with wh.connect() as conn:
        if not warehouse.table_exists(conn, "predictions"):
            return pd.DataFrame()
        return conn.execute(
            "select * from predictions where cycle_ts < ? order by cycle_ts, source", [before]
        ).fetchdf()


def prediction_rows(
    cycle_key: str, cycle_ts: pd.Timestamp, regime: str, memo_body: str, opinions: list[Opinion]
) -> pd.DataFrame:
    """The synthesis call parsed from the memo, and each mind's call parsed from its tag."""
    rows = []
    sources = [("synthesis", memo_body)]
    for o in opinions:
        tag = (
            "[DIRECTION: abstain] [TIMEFRAME: none] [CONFIDENCE: 0]"
            if o.abstained
            else format_tag(
                o.direction,
                o.ticker,
                o.relative_to,
                o.timeframe,
                o.confidence,
                (o.band_low_pct, o.band_high_pct) if o.band_low_pct is not None else None,
            )
        )
        sources.append((o.mind, tag))
    for source, text in sources:
        call = parse_tag(text, cycle_ts).as_row()
        rows.append(
            {
                "cycle_key": cycle_key,
                "cycle_ts": cycle_ts,
                "source": source,
                "regime": regime,
                **call,
                "subject_kind": subject_kind(call["ticker"], call["relative_to"]),
                "timeframe_bucket": timeframe_bucket(call["timeframe_hours"])
                if call["timeframe_hours"] is not None
                else None,
            }
        )
    frame = pd.DataFrame(rows)
    frame["horizon_end"] = pd.to_datetime(frame["horizon_end"]).astype("datetime64[ns]")
    return frame


def _deliberate(
    engine,
    cycles: list[pd.Timestamp],
    inputs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame],
    market: MarketResource,
    warehouse: WarehouseResource,
) -> tuple[dict[str, list], float]:
    """The cycles in time order: each one's context (the record known at its time), the minds,
    the debate and the memo. Returns the rows of each output and the seconds spent from the
    first context to the last memo."""
    cycle_features, regime_labels, macro_rates, news_items = inputs
    prior = _prior_predictions(warehouse, cycles[0])
    first_needed = prior["cycle_ts"].min() if len(prior) else cycles[0]
    with permanent_errors_fail_fast():
        bars = market.open().daily_bars(TICKERS, first_needed - pd.Timedelta(days=10), cycles[-1])
    closes = publish_bars(bars)[["ticker", "bar_ts", "close"]]
    history = CycleHistory(closes=closes)
    if len(prior):
        history.add_predictions(prior)

    out = {name: [] for name in LOOP_OUTPUTS}
    batching = getattr(engine, "batches", False)
    # Cycles run in time order; with Message Batches, each wave of cycles that no session close
    # separates is asked at once (nothing one of them says can reach another's context).
    started = time.perf_counter()
    for wave in waves(cycles) if batching else [[c] for c in cycles]:
        contexts = [
            _context(c, cycle_features, regime_labels, macro_rates, news_items, history)
            for c in wave
        ]
        if batching:
            opinions_per_cycle = engine.opinions_batch(contexts)
        else:
            opinions_per_cycle = [engine.opinions(ctx) for ctx in contexts]
        debates = [debate_row(ops) for ops in opinions_per_cycle]
        items = [
            (ctx, ops, d["label"])
            for ctx, ops, d in zip(contexts, opinions_per_cycle, debates, strict=True)
        ]
        memos = (
            engine.synthesize_batch(items) if batching else [engine.synthesize(*i) for i in items]
        )
        for ctx, opinions, debate, memo in zip(
            contexts, opinions_per_cycle, debates, memos, strict=True
        ):
            cycle_ts, key, regime = (
                pd.Timestamp(ctx["cycle_ts"]),
                ctx["cycle_key"],
                ctx["regime"]["label"],
            )
            preds = prediction_rows(key, cycle_ts, regime, memo.body, opinions)
            history.add_predictions(preds)
            base = {"cycle_key": key, "cycle_ts": cycle_ts}
            out["mind_context"].append(
                {
                    **base,
                    "ordinal": ctx["ordinal"],
                    "regime_label": regime,
                    "context_json": json.dumps(ctx, sort_keys=True),
                    "n_track_record_rows": len(ctx["track_record"]),
                    "n_lessons": len(ctx["lessons"]),
                    "n_rules": len(ctx["rules"]),
                    "known_through": pd.Timestamp(ctx["known_through"])
                    if ctx["known_through"]
                    else pd.NaT,
                }
            )
            out["mind_opinions"].extend({**base, **o.as_row()} for o in opinions)
            out["debate"].append({**base, **debate, "conviction": memo.published_confidence})
            out["memo"].append(
                {
                    **base,
                    "ordinal": ctx["ordinal"],
                    "title": memo.title,
                    "body": memo.body,
                    "tag_line": memo.tag_line,
                    "abstained": memo.abstained,
                    "chosen_source": memo.chosen_source,
                    "published_confidence": memo.published_confidence,
                    "regime_label": regime,
                    "model": memo.model,
                    "input_tokens": memo.input_tokens,
                    "output_tokens": memo.output_tokens,
                    "cost_usd": memo.cost_usd,
                }
            )
            out["predictions"].append(preds)

    return out, time.perf_counter() - started


@dg.multi_asset(
    outs={
        name: dg.AssetOut(
            group_name=group,
            description=desc,
            metadata={**CYCLE_TABLE, "allow_empty": name == "llm_calls"},
            kinds={"duckdb", "pandas"},
        )
        for name, (group, desc) in LOOP_OUTPUTS.items()
    },
    ins={
        "cycle_features": dg.AssetIn(),
        "regime_labels": dg.AssetIn(),
        "macro_rates": dg.AssetIn(),
        "news_items": dg.AssetIn(),
    },
    partitions_def=PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # The step that calls the model sits in its own pool ("llm"); its writes go through the
    # warehouse lock like every other write.
    pool="llm",
    can_subset=False,
)
def deliberation(
    context: dg.AssetExecutionContext,
    cycle_features: pd.DataFrame,
    regime_labels: pd.DataFrame,
    macro_rates: pd.DataFrame,
    news_items: pd.DataFrame,
    market: MarketResource,
    llm: LLMResource,
    warehouse: WarehouseResource,
):
    cycles = sorted(cycle_times(context))
    engine = llm.engine()
    try:
        out, minds_s = _deliberate(
            engine,
            cycles,
            (cycle_features, regime_labels, macro_rates, news_items),
            market,
            warehouse,
        )
    except (LLMCallFailed, BudgetExceeded) as exc:
        raise dg.Failure(
            description=_resume_advice(exc, cycles, engine), allow_retries=False
        ) from None
    finally:
        # A Claude engine stores the replies it received in the replay cache, and every request
        # it sent in the spend ledger, before the step ends, even when it fails.
        getattr(engine, "close", lambda: None)()
    # Fixed types whichever engine writes first (the offline ledger is empty).
    ledger = pd.DataFrame(getattr(engine, "ledger", []), columns=list(LEDGER_FIELDS))
    ledger = ledger.astype(LEDGER_FIELDS)
    ledger.insert(
        1,
        "cycle_ts",
        pd.Series([key_to_time(k) for k in ledger["cycle_key"]], dtype="datetime64[ns]"),
    )
    frames = {
        name: pd.DataFrame(rows)
        for name, rows in out.items()
        if name not in ("predictions", "llm_calls")
    }
    frames["llm_calls"] = ledger
    # From records, not pd.concat: a cycle whose calls are all abstentions has all-NA columns.
    predictions = pd.DataFrame([r for f in out["predictions"] for r in f.to_dict("records")])
    predictions["horizon_end"] = pd.to_datetime(predictions["horizon_end"]).astype("datetime64[ns]")
    frames["predictions"] = predictions
    frames["mind_context"]["known_through"] = pd.to_datetime(
        frames["mind_context"]["known_through"]
    ).astype("datetime64[ns]")
    last = out["memo"][-1]
    calls = frames["llm_calls"]
    usage = {
        "cost_usd": float(calls["cost_usd"].sum()),
        "input_tokens": int(
            calls[["input_tokens", "cache_read_tokens", "cache_write_tokens"]].to_numpy().sum()
        ),
        "output_tokens": int(calls["output_tokens"].sum()),
        "api_calls": int((calls["outcome"] == "ok").sum()),
        "replayed_calls": int((calls["outcome"] == "replayed").sum()),
    }
    yield dg.Output(
        frames["mind_context"],
        "mind_context",
        metadata={"cycles": len(cycles), "rules_at_last_cycle": out["mind_context"][-1]["n_rules"]},
    )
    yield dg.Output(
        frames["mind_opinions"],
        "mind_opinions",
        metadata={"abstentions": int(frames["mind_opinions"]["abstained"].sum())},
    )
    yield dg.Output(
        frames["debate"],
        "debate",
        metadata={
            "labels": dg.MetadataValue.json(frames["debate"]["label"].value_counts().to_dict())
        },
    )
    yield dg.Output(
        frames["memo"],
        "memo",
        metadata={
            "latest_memo": dg.MetadataValue.md(last["body"]),
            "latest_title": last["title"],
            "abstained": int(frames["memo"]["abstained"].sum()),
            "engine": engine.name,
            # From the first cycle's context to the last memo, per cycle: the minds' and the
            # synthesis's calls (concurrent minds: about two model latencies), without the
            # step's reads and writes.
            "minds_seconds_per_cycle": round(minds_s / len(cycles), 3),
            **usage,
        },
    )
    yield dg.Output(calls, "llm_calls", metadata=usage)
    yield dg.Output(
        frames["predictions"],
        "predictions",
        metadata={
            "parse_errors": int((frames["predictions"]["parse_status"] == "error").sum()),
        },
    )
