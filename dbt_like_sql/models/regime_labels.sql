{{ config(partitioned=true, group='market', description='One regime label per cycle (risk_on, risk_off, transition), a score in [-1, 1] and the drivers that made it.') }}

with cycle_rows as (
    select
        cycle_key,
        cycle_ts,
        any_value(breadth) as breadth,
        any_value(vix_level) as vix_level,
        any_value(vix_change_1d) as vix_change_1d,
        any_value(size_spread_5d) as size_spread_5d,
        any_value(spread_10y_2y) as spread_10y_2y,
        max(change_5d_pct) filter (where ticker = 'SPY') as spy_5d,
        max(change_5d_pct) filter (where ticker = 'HYG') as hyg_5d
    from {{ ref('cycle_features') }}
    group by cycle_key, cycle_ts
),

signals as (
    -- Each driver is scaled to [-1, 1]; positive means risk appetite.
    select cycle_key, cycle_ts, 'spy_trend' as driver, spy_5d as value,
        greatest(-1, least(1, spy_5d / 3.0)) as signal, 0.30 as weight
    from cycle_rows
    union all
    select cycle_key, cycle_ts, 'breadth', breadth,
        greatest(-1, least(1, (breadth - 0.5) * 2.5)), 0.20
    from cycle_rows
    union all
    select cycle_key, cycle_ts, 'vix_level', vix_level,
        greatest(-1, least(1, (19.0 - vix_level) / 8.0)), 0.25
    from cycle_rows
    union all
    select cycle_key, cycle_ts, 'vix_change', vix_change_1d,
        greatest(-1, least(1, -vix_change_1d / 3.0)), 0.10
    from cycle_rows
    union all
    select cycle_key, cycle_ts, 'credit_hyg_5d', hyg_5d,
        greatest(-1, least(1, hyg_5d / 1.0)), 0.15
    from cycle_rows
),

scored as (
    select
        cycle_key,
        cycle_ts,
        -- Exact decimals: a sum of doubles depends on the order DuckDB's threads add them, and
        -- a sealed cycle's regime must come out the same on every re-run to the last digit.
        cast(
            round(sum(cast(signal * weight as decimal(18, 9))) / sum(weight), 4) as double
        ) as score,
        string_agg(
            driver || ' ' || cast(round(value, 2) as varchar)
                || ' (' || case when signal >= 0 then '+' else '' end
                || cast(round(signal * weight, 2) as varchar) || ')',
            '; ' order by abs(signal * weight) desc
        ) as drivers
    from signals
    group by cycle_key, cycle_ts
)

select
    scored.cycle_key,
    scored.cycle_ts,
    case
        when scored.score >= 0.25 then 'risk_on'
        when scored.score <= -0.25 then 'risk_off'
        else 'transition'
    end as label,
    scored.score,
    scored.drivers,
    cycle_rows.vix_level,
    cycle_rows.breadth,
    cycle_rows.spy_5d,
    cycle_rows.size_spread_5d,
    cycle_rows.spread_10y_2y
from scored
inner join cycle_rows using (cycle_ts, cycle_key)
order by scored.cycle_ts
