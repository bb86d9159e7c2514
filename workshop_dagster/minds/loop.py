"""The loop: each cycle's context, the minds, the debate, the memo and the parsed calls, one
cycle after another, in time order.

Each cycle depends on the calls of the cycles before it (their scores, lessons and rules, as of
its own time), so a range of cycles is walked in time order: a backfill produces exactly what the
loop would have produced live. The loop closes through the record, not a graph edge: earlier
calls come in (`prior`), and every call made is added to the history the next cycle reads.
With Message Batches, each wave of cycles that no session close separates is asked at once
(nothing one of them says can reach another's context).

(Over 350 lines: the cycle walk and the rows it writes (context, opinions, debate, memo, calls)
are one sequence; the batching waves and the resume advice belong to that walk.)
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..market.cycles import Cycle, keys_by_time
from ..predictions.horizon import timeframe_bucket
from ..predictions.standing_calls import StandingCalls
from ..predictions.tags import format_tag, parse_tag
from ..store.records import records_by
from .calibration import call_probability
from .context import (
    CycleHistory,
    Feedback,
    build_context,
    news_rows_by_cycle,
    subject_kind,
    waves,
)
from .cycle_context import CycleContext, record_document
from .debate import debate_row
from .engine import MindsEngine
from .nothing_new import is_new, quiet_memo, quiet_opinions
from .progress import Progress
from .published import PublishedCycle
from .repeats import RepeatGuard
from .types import Opinion

# The tables the loop writes, in the order the deliberation step yields them.
LOOP_TABLES = ("mind_context", "mind_opinions", "debate", "memo", "predictions")


def cycle_context(
    cycle: Cycle,
    inputs: tuple[CycleRows, CycleRows, CycleRows, CycleRows],
    history: CycleHistory,
    ordinal: Callable[[str], int],
    feedback: Feedback | None = None,
    standing: StandingCalls | None = None,
    releases: Mapping[pd.Timestamp, list[dict]] | None = None,
) -> dict:
    """What the minds read at one cycle: its features, regime, rates and news, the releases
    due and just out, the record known at its time, and the calls standing then."""
    cycle_features, regime_labels, macro_rates, news_items = inputs
    key, cycle_ts = cycle.key, cycle.time
    feats, regime = cycle_features.records(cycle_ts), regime_labels.records(cycle_ts)
    if not feats or not regime:
        raise ValueError(
            f"cycle {key} has no features or regime label: materialize the market group for it first"
        )
    return build_context(
        key,
        cycle_ts,
        ordinal(key),
        feats,
        regime[0],
        macro_rates.records(cycle_ts),
        news_items.news_rows(cycle_ts),
        history,
        feedback,
        standing.at(cycle_ts) if standing is not None else None,
        (releases or {}).get(cycle_ts, []),
    )


def prediction_records(
    cycle_key: str,
    cycle_ts: pd.Timestamp,
    regime: str,
    memo_body: str,
    opinions: list[Opinion],
    quoted_at_the_minute: Mapping[str, pd.Timestamp] | None = None,
) -> list[dict]:
    """The synthesis call parsed from the memo, and each mind's call parsed from its tag.
    `price_series` says what the call is scored from: "intraday" when every ticker it names
    was quoted at the cycle's minute (`quoted_at_the_minute`: ticker -> the quote's time, the
    end of its last bar), else "daily"; `quote_ts` and `relative_quote_ts` are then the times
    of its legs' quotes, its entry (`minds/repeats.py`)."""
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
    times = quoted_at_the_minute or {}
    for source, text in sources:
        call = _parsed(text, cycle_ts)
        minute = (
            bool(call["ticker"])
            and {
                call["ticker"],
                call["relative_to"] or call["ticker"],
            }
            <= times.keys()
        )
        rows.append(
            {
                "cycle_key": cycle_key,
                "cycle_ts": cycle_ts,
                "source": source,
                "regime": regime,
                **call,
                "subject_kind": subject_kind(call["ticker"], call["relative_to"]),
                "price_series": "intraday" if minute else "daily",
                "quote_ts": times.get(call["ticker"]) if minute else None,
                "relative_quote_ts": times.get(call["relative_to"])
                if minute and call["relative_to"]
                else None,
                "timeframe_bucket": timeframe_bucket(call["timeframe_hours"])
                if call["timeframe_hours"] is not None
                else None,
            }
        )
    return rows


@functools.lru_cache(maxsize=64)
def _parsed(text: str, cycle_ts: pd.Timestamp) -> Mapping:
    """A tag's call as a row, read-only: a cycle's minds' tags are parsed to check them for
    repeats and again with the memo (each parse a calendar walk for the horizon's end)."""
    return MappingProxyType(parse_tag(text, cycle_ts).as_row())


def prediction_rows(*args, **kwargs) -> list[dict]:
    """`prediction_records` with the predictions table's types (`table_types`)."""
    return table_types(prediction_records(*args, **kwargs))


def _number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def table_types(rows: list[dict]) -> list[dict]:
    """The rows as a round trip through a DataFrame would type them, without building one (a
    frame a cycle cost a year's loop seconds): the time columns as timestamps (NaT for none); a
    column of numbers with a value missing, or of ints and floats, as floats (NaN for none); any
    other column as it is (an all-missing column stays None). Tested against the round trip."""
    out = [dict(r) for r in rows]
    for col in dict.fromkeys(k for r in rows for k in r):
        values = [r.get(col) for r in rows]
        if col in TIME_COLUMNS:
            for row, v in zip(out, values, strict=True):
                row[col] = pd.NaT if v is None or pd.isna(v) else pd.Timestamp(v).as_unit("ns")
            continue
        present = [v for v in values if v is not None]
        if (
            present
            and len(present) < len(values)
            and all(isinstance(v, pd.Timestamp) for v in present)
        ):
            for row, v in zip(out, values, strict=True):
                row[col] = pd.NaT if v is None else v.as_unit("ns")
            continue
        if not present or not all(_number(v) for v in present):
            continue
        ints = all(isinstance(v, int | np.integer) for v in present)
        if ints and len(present) == len(values):
            continue
        for row, v in zip(out, values, strict=True):
            row[col] = float("nan") if v is None else float(v)
    return out


def with_probabilities(rows: list[dict], context: CycleContext) -> list[dict]:
    """Each call's `conviction` (the number its source stated) and `confidence`, the
    probability that it is right, which every Brier score, skill and calibration is computed
    on: the synthesis's published CONFIDENCE (already the probability its record gives the call,
    checked at 0.5 or more), a mind's the probability its record as of the cycle gives its
    stated number (`calibration.call_probability`)."""
    for row in rows:
        row["conviction"] = row["confidence"]
        if row["source"] != "synthesis" and row["parse_status"] == "parsed":
            row["confidence"] = call_probability(
                context, row["source"], float(row["confidence"]), row["direction"]
            )
    return rows


# The predictions' timestamp columns (naive New York time).
TIME_COLUMNS = ("horizon_end", "quote_ts", "relative_quote_ts")


class CycleRows:
    """A range's frame, a cycle's rows at a time, converted in chunks of `CHUNK` cycles as the
    loop walks forward: one conversion a cycle cost a year's loop seconds, and the whole range
    converted at once held a year's rows as dicts (~100 MB a frame). A cycle's rows keep the
    frame's order."""

    CHUNK = 256

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame.sort_values("cycle_ts", kind="stable").reset_index(drop=True)
        times = self._frame["cycle_ts"].to_numpy()
        self._cycles, self._starts = np.unique(times, return_index=True)
        # The chunk in hand: (its index, its rows, what they were converted to, by kind).
        self._chunk: tuple[int, pd.DataFrame, dict] | None = None

    def _load(self, cycle_ts: pd.Timestamp) -> tuple[pd.DataFrame, dict] | None:
        at = int(np.searchsorted(self._cycles, np.datetime64(cycle_ts)))
        if at >= len(self._cycles) or self._cycles[at] != np.datetime64(cycle_ts):
            return None
        index = at // self.CHUNK
        if self._chunk is None or self._chunk[0] != index:
            first = index * self.CHUNK
            last = first + self.CHUNK
            start = int(self._starts[first])
            end = int(self._starts[last]) if last < len(self._starts) else len(self._frame)
            rows = self._frame.iloc[start:end]
            self._chunk = (index, rows, {})
        return self._chunk[1], self._chunk[2]

    def _of_chunk(self, cycle_ts: pd.Timestamp, kind: str, convert) -> list[dict]:
        """The cycle's rows as `convert` made them for its whole chunk (once a chunk)."""
        loaded = self._load(cycle_ts)
        if loaded is None:
            return []
        rows, cache = loaded
        if kind not in cache:
            cache[kind] = convert(rows)
        return cache[kind].get(cycle_ts, [])

    def records(self, cycle_ts: pd.Timestamp) -> list[dict]:
        """The cycle's rows as dicts."""
        return self._of_chunk(cycle_ts, "records", lambda rows: records_by(rows, "cycle_ts"))

    def news_rows(self, cycle_ts: pd.Timestamp) -> list[dict]:
        """The cycle's headlines as the context shows them (`context.news_rows_by_cycle`)."""
        return self._of_chunk(cycle_ts, "news", news_rows_by_cycle)


def deliberate(
    engine: MindsEngine,
    run: Sequence[Cycle],
    inputs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame],
    closes: pd.DataFrame,
    prior: pd.DataFrame,
    ordinal: Callable[[str], int],
    previous: Callable[[pd.Timestamp], pd.Timestamp | None] = lambda cycle: None,
    report: Callable[[str], None] | None = None,
    feedback: Feedback | None = None,
    published: Mapping[pd.Timestamp, PublishedCycle] | None = None,
    releases: Mapping[pd.Timestamp, list[dict]] | None = None,
) -> tuple[dict[str, list], float]:
    """The run's cycles (`run`, in time order): each one's context (the record known at its time), the minds,
    the debate and the memo. `inputs` are the range's cycle_features, regime_labels,
    macro_rates and news_items; `closes` (ticker, bar_ts, close) score the earlier calls, `prior`
    holds the calls made before the first cycle, `previous` gives each cycle's previous cycle
    time (a cycle with nothing new since it gets `nothing_new.quiet_memo`), `report` receives a
    progress line every 5% of the cycles (`progress.Progress`), `feedback` what of the record
    the minds are shown (a variant's, `context.Feedback`; default: all of it), `published` the
    sealed cycles of the run, left as they were published (`minds/published.py`), `releases`
    each cycle's scheduled releases (`release_calendar.rows_by_cycle`). Returns the rows of each table
    (records; the predictions a list of records per cycle; `context_records` the records the
    contexts name, id -> JSON) and the seconds spent from the first context to the last memo."""
    history = CycleHistory(closes=closes)
    features_in, regimes_in, rates_in, news_in = inputs
    # Of the rates, the context reads the 10-year yield's recent observations only.
    ust10 = rates_in[rates_in["series"] == "ust_10y"][["cycle_ts", "series", "as_of", "value"]]
    inputs = tuple(CycleRows(frame) for frame in (features_in, regimes_in, ust10, news_in))
    features = inputs[0]
    repeats = RepeatGuard()
    # Every source's standing calls, the prior calls' walked first (rows stored before the rule
    # are classified here as it would have).
    standing = StandingCalls()
    if len(prior):
        earlier = standing.walk(prior.to_dict("records"))
        history.add_predictions(earlier)
        repeats.record(earlier)

    out = {name: [] for name in LOOP_TABLES}
    # The records the contexts show, each once (cycle_context.record_document), by id; and the
    # one made last, for the cycles of a point that share its rows.
    records: dict[str, str] = {}
    shared: tuple[tuple, tuple[str, str]] | None = None
    batching = engine.batches
    started = time.perf_counter()
    # The cycles by time, as the tables hold them; each one's key as the run was given it.
    keys = keys_by_time(run)
    cycles = [c.time for c in run]
    progress = Progress(len(cycles), report) if report is not None and len(cycles) > 1 else None

    def ask(wave: list[pd.Timestamp]) -> None:
        """Put a wave of cycles (one cycle unless batching) to the engine and record it."""
        nonlocal shared
        contexts = [
            cycle_context(Cycle(c, keys[c]), inputs, history, ordinal, feedback, standing, releases)
            for c in wave
        ]
        quoted = [_quoted(features.records(c)) for c in wave]
        # A cycle with nothing new since the previous one is not put to the minds.
        quiet = [
            None if is_new(features.records(c), ctx, previous(c)) else previous(c)
            for c, ctx in zip(wave, contexts, strict=True)
        ]
        asked = [ctx for ctx, q in zip(contexts, quiet, strict=True) if q is None]
        if batching:
            answers = iter(engine.opinions_batch(asked) if asked else [])
        else:
            answers = iter([engine.opinions(ctx) for ctx in asked])
        opinions_per_cycle = [quiet_opinions(q) if q is not None else next(answers) for q in quiet]
        # A call whose outcome the same source already has (between the same closes, or from
        # the same quotes) is not made again; in time order, so a wave's later cycles see its
        # earlier ones' calls (minds/repeats.py).
        # A mind's call that says again its call standing on the subject is a restatement
        # (predictions/standing_calls.py): kept, marked, never counted; the rest are new.
        for i, (ctx, ops) in enumerate(zip(contexts, opinions_per_cycle, strict=True)):
            rows = prediction_records(
                ctx.cycle_key, pd.Timestamp(ctx.cycle_ts), "", "", ops, quoted[i]
            )
            ops = standing.mark(ops, rows)
            opinions_per_cycle[i] = repeats.withdraw(ops, rows, standing)
            repeats.record(rows)
        debates = [debate_row(ops) for ops in opinions_per_cycle]
        items = [
            (ctx, ops, d["label"])
            for ctx, ops, d, q in zip(contexts, opinions_per_cycle, debates, quiet, strict=True)
            if q is None
        ]
        written = iter(
            engine.synthesize_batch(items)
            if batching and items
            else [engine.synthesize(*i) for i in items]
        )
        memos = [
            quiet_memo(ctx, ops, d["label"], q) if q is not None else next(written)
            for ctx, ops, d, q in zip(contexts, opinions_per_cycle, debates, quiet, strict=True)
        ]
        for ctx, opinions, debate, memo, quotes in zip(
            contexts, opinions_per_cycle, debates, memos, quoted, strict=True
        ):
            cycle_ts, key, regime = (
                pd.Timestamp(ctx.cycle_ts),
                ctx.cycle_key,
                ctx.regime.label,
            )
            # With the table's types (NaN, NaT), as the stored rows will have them.
            preds = with_probabilities(
                prediction_rows(key, cycle_ts, regime, memo.body, opinions, quotes), ctx
            )
            for row in preds:
                row.update(standing.classify(row))
                standing.record(row)
            history.add_predictions(preds)
            repeats.record(preds)
            if progress is not None:
                progress.advance()
            base = {"cycle_key": key, "cycle_ts": cycle_ts}
            rows = (ctx.track_record, ctx.calibration, ctx.rules)
            if shared is None or any(a is not b for a, b in zip(shared[0], rows, strict=True)):
                shared = (rows, record_document(ctx))
            context_json, record_id, record_json = ctx.stored(shared[1])
            records.setdefault(record_id, record_json)
            out["mind_context"].append(
                {
                    **base,
                    "ordinal": ctx.ordinal,
                    "regime_label": regime,
                    "context_json": context_json,
                    "n_track_record_rows": len(ctx.track_record),
                    "n_lessons": len(ctx.lessons),
                    "n_rules": len(ctx.rules),
                    "known_through": pd.Timestamp(ctx.known_through)
                    if ctx.known_through
                    else pd.NaT,
                }
            )
            out["mind_opinions"].extend({**base, **o.as_row()} for o in opinions)
            out["debate"].append({**base, **debate, "conviction": memo.published_confidence})
            out["memo"].append(
                {
                    **base,
                    "ordinal": ctx.ordinal,
                    "title": memo.title,
                    "body": memo.body,
                    "tag_line": memo.tag_line,
                    "abstained": memo.abstained,
                    "chosen_source": memo.chosen_source,
                    "published_confidence": memo.published_confidence,
                    "regime_label": regime,
                    "model": memo.model,
                    # Who wrote it (engine, models, prompts): a sealed cycle records it.
                    "written_by": engine.writer,
                    "input_tokens": memo.input_tokens,
                    "output_tokens": memo.output_tokens,
                    "cost_usd": memo.cost_usd,
                }
            )
            out["predictions"].append(preds)

    for wave in waves(cycles) if batching else [[c] for c in cycles]:
        # A sealed cycle is history (minds/published.py): left as published, its calls
        # walked into the record the later cycles see; the others are asked.
        for is_published, part in _split(wave, published or {}):
            if is_published:
                for cycle in part:
                    _replay(published[cycle], out, history, standing, repeats)
                    if progress is not None:
                        progress.advance()
            else:
                ask(part)

    out["context_records"] = records
    return out, time.perf_counter() - started


def _split(wave: list[pd.Timestamp], published: Mapping) -> list[tuple[bool, list]]:
    """A wave's cycles in runs of published and asked ones, in time order."""
    parts: list[tuple[bool, list]] = []
    for cycle in wave:
        is_published = cycle in published
        if parts and parts[-1][0] == is_published:
            parts[-1][1].append(cycle)
        else:
            parts.append((is_published, [cycle]))
    return parts


def _replay(cycle: PublishedCycle, out: dict, history, standing, repeats) -> None:
    """A sealed cycle's rows as published, and its calls into the record and the standing
    calls the later cycles see (a call published before restatements were told apart is
    classified for that, its row left as it was sealed)."""
    calls = []
    for row in cycle.rows["predictions"]:
        call = dict(row)
        if not isinstance(call.get("restates"), str):
            call.update(standing.classify(call))
        standing.record(call)
        calls.append(call)
    history.add_predictions(calls)
    repeats.record(calls)
    for table in LOOP_TABLES:
        rows = cycle.rows[table]
        if table == "predictions":
            out[table].append(rows)
        else:
            out[table].extend(rows)


def _quoted(features: list[dict]) -> dict[str, pd.Timestamp]:
    """The tickers quoted at the cycle's minute (their calls are scored from intraday bars),
    each with its quote's time. `features`: the cycle's rows as records."""
    if not features or "quote_source" not in features[0]:
        return {}
    return {
        r["ticker"]: r["quote_ts"]
        for r in features
        if r["quote_source"] != "daily close" and not pd.isna(r["quote_ts"])
    }


def resume_advice(exc: Exception, cycles: Sequence[Cycle], engine: MindsEngine) -> str:
    """What failed, that nothing was written, and how to go on without paying twice."""
    answered = sum(r["outcome"].startswith("ok") for r in engine.ledger)
    first, last = cycles[0].key, cycles[-1].key
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
