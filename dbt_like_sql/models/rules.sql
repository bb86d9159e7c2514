{{ config(partitioned=false, group='track_record', description='Guardrails derived from the record: a kind of call (source x timeframe x subject kind) with n >= 5 whose hit rate sits 15 points or more below the base rate becomes a rule the memo must heed.') }}

with kinds as (
    select *
    from {{ ref('track_record') }}
    where regime = 'all'
      and timeframe_bucket <> 'all'
      and subject_kind <> 'all'
      and n >= 5
),

failing as (
    select *
    from kinds
    where hit_rate <= base_rate - 0.15
)

select
    source || ':' || timeframe_bucket || ':' || subject_kind as rule_id,
    source,
    timeframe_bucket,
    subject_kind,
    n,
    hits,
    hit_rate,
    base_rate,
    mean_score,
    'No ' || timeframe_bucket || ' ' || replace(subject_kind, '_', ' ') || ' calls from '
        || source || ': ' || cast(hits as varchar) || ' of ' || cast(n as varchar)
        || ' right (' || cast(round(100 * hit_rate) as integer) || '%) against a base rate of '
        || cast(round(100 * base_rate) as integer) || '%, average score '
        || cast(round(mean_score, 2) as varchar) || ' out of 1.' as rule_text
from failing
order by hit_rate, n desc, rule_id
