{{ config(partitioned=false, group='track_record', description='Stated confidence against realized hit rate, per source and direction (all, up, down, flat), in ten confidence bins (with n), for reliability diagrams and for the synthesis to calibrate what it publishes.') }}

with scored as (
    select source, direction, confidence, hit
    from {{ ref('prediction_scores') }}
    where status = 'scored' and confidence is not null
),

binned as (
    select
        source,
        direction,
        least(floor(confidence * 10), 9) / 10.0 as bin_low,
        confidence,
        case when hit then 1.0 else 0.0 end as hit_value
    from scored
)

select
    source,
    case when grouping(direction) = 1 then 'all' else direction end as direction,
    bin_low,
    bin_low + 0.1 as bin_high,
    count(*) as n,
    round(avg(confidence), 4) as mean_confidence,
    round(avg(hit_value), 4) as hit_rate
from binned
group by grouping sets ((source, bin_low), (source, direction, bin_low))
order by source, direction, bin_low
