{{ config(partitioned=true, group='market', description='Per cycle and ticker: the price of the cycle minute (intraday where the source has it, else the last close, marked stale), the day move (the regular session against the previous regular close), the 5-session change, strength vs SPY, the extended-hours move, the moves since the open and since the previous cycle, the place in the day range; plus the cycle-wide breadth, size spread, mega-cap basket, VIX and rates.') }}

-- The cycles' distinct windows: the cycles of a day see the same daily sessions, so the
-- closes are picked once a window (a tenth of the rows) and given to each cycle after.
with windows as (
    select distinct source, ticker, first_session, last_session, revision
    from {{ ref('market_bars') }}
),

-- Each window's sessions as the cycle saw them: per session, the latest revision of
-- session_bars at or before the window's (market/session_bars.py keeps the same rule).
session_revisions as (
    select
        windows.source,
        windows.ticker,
        windows.first_session,
        windows.last_session,
        windows.revision,
        session_bars.session_date,
        session_bars.bar_ts,
        session_bars.close,
        session_bars.present,
        row_number() over (
            partition by
                windows.source, windows.ticker, windows.first_session, windows.last_session,
                windows.revision, session_bars.session_date
            order by session_bars.revision desc
        ) as newest
    from windows
    inner join main.session_bars
        on session_bars.source = windows.source
        and session_bars.ticker = windows.ticker
        and session_bars.session_date between windows.first_session and windows.last_session
        and session_bars.revision <= windows.revision
),

bars as (
    select
        source,
        ticker,
        first_session,
        last_session,
        revision,
        session_date,
        bar_ts,
        close,
        row_number() over (
            partition by source, ticker, first_session, last_session, revision
            order by bar_ts desc
        ) as bars_back
    from session_revisions
    where newest = 1 and present
),

window_closes as (
    select
        source,
        ticker,
        first_session,
        last_session,
        revision,
        max(case when bars_back = 1 then session_date end) as last_present_session,
        max(case when bars_back = 1 then bar_ts end) as last_bar_ts,
        max(case when bars_back = 1 then close end) as last,
        max(case when bars_back = 2 then close end) as close_1d_ago,
        max(case when bars_back = 6 then close end) as close_5d_ago
    from bars
    group by source, ticker, first_session, last_session, revision
),

per_ticker as (
    select
        cycles.cycle_key,
        cycles.cycle_ts,
        cycles.ticker,
        window_closes.last_present_session as last_session,
        window_closes.last_bar_ts,
        window_closes.last,
        window_closes.close_1d_ago,
        window_closes.close_5d_ago
    from {{ ref('market_bars') }} as cycles
    inner join window_closes
        using (source, ticker, first_session, last_session, revision)
),

daily_changes as (
    select
        *,
        round(100 * (last / close_1d_ago - 1), 4) as daily_1d_pct,
        round(100 * (last / close_5d_ago - 1), 4) as daily_5d_pct
    from per_ticker
),

-- The quote of the cycle's minute where the source has intraday bars: its moves are taken
-- inside the intraday series (market/quotes.py); otherwise the daily closes' moves.
changes as (
    select
        daily_changes.cycle_key,
        daily_changes.cycle_ts,
        daily_changes.ticker,
        daily_changes.last_session,
        daily_changes.last_bar_ts,
        daily_changes.close_1d_ago,
        coalesce(quotes.quote_source, 'daily close') as quote_source,
        coalesce(quotes.quote_ts, daily_changes.last_bar_ts) as quote_ts,
        coalesce(quotes.stale, false) as stale,
        quotes.extended_move_pct,
        quotes.extended_session,
        quotes.since_open_pct,
        quotes.since_prev_cycle_pct,
        quotes.range_position,
        case when intraday then quotes.last else daily_changes.last end as last,
        case when intraday then quotes.session_move_pct else daily_changes.daily_1d_pct end
            as change_1d_pct,
        case when intraday then quotes.change_5d_pct else daily_changes.daily_5d_pct end
            as change_5d_pct
    from daily_changes
    left join (
        select *, quote_source <> 'daily close' as intraday from {{ ref('market_quotes') }}
    ) as quotes using (cycle_ts, ticker)
),

spy as (
    select cycle_ts, change_1d_pct as spy_1d, change_5d_pct as spy_5d
    from changes
    where ticker = 'SPY'
),

cycle_wide as (
    select
        cycle_ts,
        avg(case when change_1d_pct > 0 then 1.0 else 0.0 end)
            filter (where ticker <> 'VIX') as breadth,
        max(change_1d_pct) filter (where ticker = 'IWM')
            - max(change_1d_pct) filter (where ticker = 'QQQ') as size_spread_1d,
        max(change_5d_pct) filter (where ticker = 'IWM')
            - max(change_5d_pct) filter (where ticker = 'QQQ') as size_spread_5d,
        -- Added in ticker order: a sum of doubles depends on the order it is made in, and a
        -- sealed cycle's features must come out the same on every re-run.
        avg(change_1d_pct order by ticker) filter (
            where ticker in ('AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA')
        ) as mega_cap_1d,
        avg(change_5d_pct order by ticker) filter (
            where ticker in ('AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA')
        ) as mega_cap_5d,
        max(last) filter (where ticker = 'VIX') as vix_level,
        max(last - close_1d_ago) filter (where ticker = 'VIX') as vix_change_1d
    from changes
    group by cycle_ts
),

latest_rates as (
    select
        cycle_ts,
        series,
        value,
        row_number() over (partition by cycle_ts, series order by as_of desc) as obs_back
    from {{ ref('macro_rates') }}
),

rates as (
    select
        cycle_ts,
        max(value) filter (where series = 'ust_10y') as ust_10y,
        max(value) filter (where series = 'ust_2y') as ust_2y,
        max(value) filter (where series = 'spread_10y_2y') as spread_10y_2y,
        max(value) filter (where series = 'fed_funds') as fed_funds
    from latest_rates
    where obs_back = 1
    group by cycle_ts
)

select
    changes.cycle_key,
    changes.cycle_ts,
    changes.ticker,
    changes.last_session,
    changes.last_bar_ts,
    changes.last,
    changes.change_1d_pct,
    changes.change_5d_pct,
    changes.quote_source,
    changes.quote_ts,
    changes.stale,
    changes.extended_move_pct,
    changes.extended_session,
    changes.since_open_pct,
    changes.since_prev_cycle_pct,
    changes.range_position,
    round(changes.change_5d_pct - spy.spy_5d, 4) as rel_strength_5d,
    round(cycle_wide.breadth, 4) as breadth,
    round(cycle_wide.size_spread_1d, 4) as size_spread_1d,
    round(cycle_wide.size_spread_5d, 4) as size_spread_5d,
    round(cycle_wide.mega_cap_1d, 4) as mega_cap_1d,
    round(cycle_wide.mega_cap_5d, 4) as mega_cap_5d,
    round(cycle_wide.vix_level, 2) as vix_level,
    round(cycle_wide.vix_change_1d, 2) as vix_change_1d,
    rates.ust_10y,
    rates.ust_2y,
    rates.spread_10y_2y,
    rates.fed_funds
from changes
inner join spy using (cycle_ts)
inner join cycle_wide using (cycle_ts)
inner join rates using (cycle_ts)
order by changes.cycle_ts, changes.ticker
