{{ config(partitioned=false, group='track_record', description='Stated confidence against realized hit rate, per source, in ten confidence bins (with n), for reliability diagrams.') }}

with scored as (
    select source, confidence, hit
    from {{ ref('prediction_scores') }}
    where status = 'scored' and confidence is not null
),

binned as (
    select
        source,
        least(floor(confidence * 10), 9) / 10.0 as bin_low,
        confidence,
        case when hit then 1.0 else 0.0 end as hit_value
    from scored
)

select
    source,
    bin_low,
    bin_low + 0.1 as bin_high,
    count(*) as n,
    round(avg(confidence), 4) as mean_confidence,
    round(avg(hit_value), 4) as hit_rate
from binned
group by source, bin_low
order by source, bin_low
