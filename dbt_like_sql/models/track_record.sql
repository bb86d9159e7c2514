{{ config(partitioned=false, group='track_record', description='How each source (synthesis, macro, flow, contrarian) has done: by regime, timeframe and kind of subject, with n, hit rate, mean score, Brier and Brier skill against the base rate. Abstentions are counted apart.') }}

with outcomes as (
    select source, regime, timeframe_bucket, subject_kind, status, hit, score, brier
    from {{ ref('prediction_scores') }}
    where status in ('scored', 'abstained')
),

base_rate as (
    -- The climatological forecaster: always say the overall hit rate of scored calls.
    select avg(case when hit then 1.0 else 0.0 end) as base_rate
    from outcomes
    where status = 'scored'
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
        count(*) filter (where status = 'abstained') as n_abstained,
        count(*) filter (where status = 'scored' and hit) as hits,
        avg(score) filter (where status = 'scored') as mean_score,
        avg(brier) filter (where status = 'scored') as brier
    from outcomes
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
    grouped.n_abstained,
    grouped.hits,
    case when grouped.n > 0 then round(grouped.hits::double / grouped.n, 4) end as hit_rate,
    round(grouped.mean_score, 4) as mean_score,
    round(grouped.brier, 4) as brier,
    round(base_rate.base_rate, 4) as base_rate,
    case
        when grouped.n > 0 and base_rate.base_rate > 0 and base_rate.base_rate < 1
            then round(1 - grouped.brier / (base_rate.base_rate * (1 - base_rate.base_rate)), 4)
    end as brier_skill,
    grouped.n < 5 as small_sample
from grouped
cross join base_rate
order by grouped.source, grouped.regime, grouped.timeframe_bucket, grouped.subject_kind
