{{ config(partitioned=false, group='track_record', description='What each source''s stated number (its conviction) has turned out to mean: per source and direction (all, up, down, flat), in ten bins of the stated number, the outcomes (n, calls counted once per outcome as in track_record) and their realized hit rate. The minds'' calls are scored at the probability these bins give their stated number as of each cycle (minds/calibration.py); the reliability of those probabilities is the calibration report.') }}

with scored_calls as (
    select
        source, ticker, relative_to, direction, entry_ts, exit_ts, hit,
        coalesce(conviction, confidence) as stated
    from {{ ref('prediction_scores') }}
    where status = 'scored' and coalesce(conviction, confidence) is not null
),

outcomes as (
    -- One outcome per source, subject, direction, entry and exit (as in track_record), in the
    -- bin of its calls' mean stated number.
    -- Exact decimals: the same figures whatever order DuckDB's threads sum them in.
    select
        source, direction,
        cast(sum(cast(stated as decimal(18, 6))) / count(*) as decimal(18, 9)) as stated,
        bool_and(hit) as hit
    from scored_calls
    group by source, ticker, coalesce(relative_to, ''), direction, entry_ts, exit_ts
),

binned as (
    select
        source,
        direction,
        least(floor(cast(stated as double) * 10), 9) / 10.0 as bin_low,
        stated,
        case when hit then 1.0 else 0.0 end as hit_value
    from outcomes
)

select
    source,
    case when grouping(direction) = 1 then 'all' else direction end as direction,
    bin_low,
    bin_low + 0.1 as bin_high,
    count(*) as n,
    round(cast(sum(stated) / count(*) as double), 4) as mean_stated,
    round(avg(hit_value), 4) as hit_rate
from binned
group by grouping sets ((source, bin_low), (source, direction, bin_low))
order by source, direction, bin_low
