{{ config(partitioned=false, group='track_record', description='How each source (synthesis, macro, flow, contrarian) has done: by regime, timeframe and kind of subject, counted in calls that were new: a restatement of a call still standing (the same source, subject and direction before its horizon ended) is never counted, and n_restatements lists them beside n (calls of one source with the same subject, direction, entry and exit, from warehouses before restatements were told apart, count once), with hit rate, mean score, Brier on the probability each call was scored at, and Brier skill against the base rate. Abstentions are counted apart.') }}

with scored_calls as (
    select
        source, regime, timeframe_bucket, subject_kind, ticker, relative_to, direction,
        entry_ts, exit_ts, hit,
        -- Exact decimals: DuckDB sums doubles in whatever order its threads finish, and a
        -- re-run must give the same figures to the last digit.
        cast(score as decimal(18, 6)) as score,
        -- On the probability the call is scored at, never under 0.5 (a row recorded before
        -- session 12 may hold a mind's stated number there).
        cast(
            power(greatest(confidence, 0.5) - case when hit then 1.0 else 0.0 end, 2)
            as decimal(18, 6)
        ) as brier
    from {{ ref('prediction_scores') }}
    where status = 'scored'
),

outcomes as (
    -- One outcome per source, subject, direction, entry and exit, however many calls made it
    -- (docs/scoring.md, "Outcomes counted once"): its calls share the hit; their scores and
    -- Brier scores are averaged, so one outcome weighs one.
    select
        source,
        min(regime) as regime,
        min(timeframe_bucket) as timeframe_bucket,
        min(subject_kind) as subject_kind,
        count(*) as n_calls,
        bool_and(hit) as hit,
        cast(sum(score) / count(*) as decimal(18, 9)) as score,
        cast(sum(brier) / count(*) as decimal(18, 9)) as brier
    from scored_calls
    group by source, ticker, coalesce(relative_to, ''), direction, entry_ts, exit_ts
),

abstentions as (
    select source, regime, timeframe_bucket, subject_kind, status
    from {{ ref('prediction_scores') }}
    where status in ('abstained', 'restatement')
),

decisions as (
    select source, regime, timeframe_bucket, subject_kind, 'scored' as status, hit,
        score, brier
    from outcomes
    union all
    select source, regime, timeframe_bucket, subject_kind, status, null,
        null::decimal(18, 9), null::decimal(18, 9)
    from abstentions
),

base_rate as (
    -- The climatological forecaster: always say the overall hit rate of the outcomes.
    select avg(case when hit then 1.0 else 0.0 end) as base_rate
    from outcomes
),

grouped as (
    select
        source,
        case when grouping(regime) = 1 then 'all' else coalesce(regime, 'none') end as regime,
        case when grouping(timeframe_bucket) = 1 then 'all'
            else coalesce(timeframe_bucket, 'none') end as timeframe_bucket,
        case when grouping(subject_kind) = 1 then 'all'
            else coalesce(subject_kind, 'none') end as subject_kind,
        count(*) filter (where status = 'scored') as n,
        count(*) filter (where status = 'restatement') as n_restatements,
        count(*) filter (where status = 'abstained') as n_abstained,
        count(*) filter (where status = 'scored' and hit) as hits,
        sum(score) filter (where status = 'scored')
            / nullif(count(*) filter (where status = 'scored'), 0) as mean_score,
        sum(brier) filter (where status = 'scored')
            / nullif(count(*) filter (where status = 'scored'), 0) as brier,
        -- The spread of the calls' Brier scores: the interval a verdict reads (verdicts.py).
        stddev_samp(cast(brier as double)) filter (where status = 'scored') as brier_sd
    from decisions
    group by grouping sets (
        (source),
        (source, regime),
        (source, timeframe_bucket, subject_kind),
        (source, regime, timeframe_bucket, subject_kind)
    )
)

select
    grouped.source,
    grouped.regime,
    grouped.timeframe_bucket,
    grouped.subject_kind,
    grouped.n,
    grouped.n_restatements,
    grouped.n_abstained,
    grouped.hits,
    case when grouped.n > 0 then round(grouped.hits::double / grouped.n, 4) end as hit_rate,
    round(cast(grouped.mean_score as double), 4) as mean_score,
    round(cast(grouped.brier as double), 4) as brier,
    round(grouped.brier_sd, 4) as brier_sd,
    round(base_rate.base_rate, 4) as base_rate,
    -- Against the forecaster who states the base rate on every call, never under 0.5 like
    -- every call (r = greatest(b, 0.5)), whose Brier score is r(1 - r) <= 0.25: every call is
    -- scored at a probability of 0.5 or more, so a wrong call costs at least 0.25 and a source
    -- that is always wrong can never show positive skill.
    case
        when grouped.n > 0 and base_rate.base_rate < 1
            then round(1 - cast(grouped.brier as double) / (
                greatest(base_rate.base_rate, 0.5) * (1 - greatest(base_rate.base_rate, 0.5))
            ), 4)
    end as brier_skill,
    grouped.n < 5 as small_sample
from grouped
cross join base_rate
order by grouped.source, grouped.regime, grouped.timeframe_bucket, grouped.subject_kind
