-- One row per segment of the catalog: how campaign emails delivered to its members within the
-- last health_window_days (90) fared, against seed 004's guardrails: open rate >=
-- guardrail_min_open_rate (10 %), unsubscribe rate < guardrail_max_unsubscribe_rate (3 %), spam
-- complaint rate < guardrail_max_spam_rate (0.08 %).
-- A delivery counts for a segment when the customer was in the segment on the delivery's date,
-- by the membership history (history.segment_membership_history): a false start emailed after
-- falling silent counts for false_starts, not their earlier opens. The guardrails are checked only
-- when that history covers the whole window (its first as-of date on or before the window's first
-- day); until then guardrail_status is 'no_history_yet', never 'ok' (`clv-segments backfill`
-- writes the history of past as-of dates).
-- Opens, unsubscribes and complaints are reactions to a counted delivery (same customer and
-- campaign), once each; machine opens count only with var count_machine_opens.
{%- set winback_segments = winback_sample_shares().keys() | list %}
with

catalog as (
    select
        segment_name,
        segment_kind,
        catalog_position
    from {{ ref('int_segments_compiled') }}
),

stints as (
    select
        segment_name,
        customer_id,
        valid_from,
        valid_to
    from {{ ref('int_segment_memberships_historized') }}
),

window_bounds as (
    select
        cast({{ var('health_window_days') | int }} as integer) as health_window_days,
        cast({{ dbt.dateadd('day', 1 - (var('health_window_days') | int), as_of_date()) }} as date)
            as window_starts_on
),

history_start as (
    select min(as_of_date) as history_starts_on
    from {{ ref('segment_membership_history') }}
),

history_coverage as (
    select
        history_start.history_starts_on,
        window_bounds.health_window_days,
        window_bounds.window_starts_on,
        coalesce(history_start.history_starts_on <= window_bounds.window_starts_on, false)
            as is_window_covered
    from window_bounds
    cross join history_start
),

events as (
    select
        event_id,
        customer_id,
        event_type,
        campaign_id,
        occurred_at,
        is_machine_open
    from {{ ref('stg_shop__events') }}
    where event_type in ('email_delivered', 'email_opened', 'email_unsubscribed', 'email_marked_spam')
),

deliveries as (
    select
        customer_id,
        coalesce(campaign_id, event_id) as campaign_key,
        min(occurred_at) as delivered_at
    from events
    where event_type = 'email_delivered'
        and {{ within_last_days('occurred_at', var('health_window_days')) }}
    group by 1, 2
),

reactions as (
    select
        customer_id,
        coalesce(campaign_id, event_id) as campaign_key,
        max(case
            when event_type = 'email_opened'
                {%- if not var('count_machine_opens') %}
                and not coalesce(is_machine_open, false)
                {%- endif %}
                then 1 else 0
        end) as is_opened,
        max(case when event_type = 'email_unsubscribed' then 1 else 0 end) as is_unsubscribed,
        max(case when event_type = 'email_marked_spam' then 1 else 0 end) as is_marked_spam
    from events
    where event_type <> 'email_delivered'
        and {{ days_ago('occurred_at') }} >= 0
    group by 1, 2
),

segment_deliveries as (
    select distinct
        stints.segment_name,
        deliveries.customer_id,
        deliveries.campaign_key
    from deliveries
    inner join stints
        on deliveries.customer_id = stints.customer_id
        and cast(deliveries.delivered_at as date) >= stints.valid_from
        and (stints.valid_to is null or cast(deliveries.delivered_at as date) < stints.valid_to)
),

segment_email_stats as (
    select
        segment_deliveries.segment_name,
        count(*) as deliveries,
        sum(coalesce(reactions.is_opened, 0)) as opens,
        sum(coalesce(reactions.is_unsubscribed, 0)) as unsubscribes,
        sum(coalesce(reactions.is_marked_spam, 0)) as spam_complaints
    from segment_deliveries
    left join reactions
        on segment_deliveries.customer_id = reactions.customer_id
        and segment_deliveries.campaign_key = reactions.campaign_key
    group by 1
),

rates as (
    select
        catalog.segment_name,
        catalog.segment_kind,
        catalog.catalog_position,
        coalesce(segment_email_stats.deliveries, 0) as deliveries,
        coalesce(segment_email_stats.opens, 0) as opens,
        coalesce(segment_email_stats.unsubscribes, 0) as unsubscribes,
        coalesce(segment_email_stats.spam_complaints, 0) as spam_complaints,
        cast(segment_email_stats.opens as {{ type_double() }})
            / nullif(segment_email_stats.deliveries, 0) as open_rate,
        cast(segment_email_stats.unsubscribes as {{ type_double() }})
            / nullif(segment_email_stats.deliveries, 0) as unsubscribe_rate,
        cast(segment_email_stats.spam_complaints as {{ type_double() }})
            / nullif(segment_email_stats.deliveries, 0) as spam_rate
    from catalog
    left join segment_email_stats
        on catalog.segment_name = segment_email_stats.segment_name
),

checked as (
    select
        rates.*,
        coalesce(open_rate < {{ var('guardrail_min_open_rate') }}, false) as is_open_rate_breach,
        coalesce(unsubscribe_rate >= {{ var('guardrail_max_unsubscribe_rate') }}, false) as is_unsubscribe_rate_breach,
        coalesce(spam_rate >= {{ var('guardrail_max_spam_rate') }}, false) as is_spam_rate_breach
    from rates
),

labelled as (
    select
        checked.*,
        trim({{ dbt.concat([
            "case when is_open_rate_breach then 'open_rate ' else '' end",
            "case when is_unsubscribe_rate_breach then 'unsubscribe_rate ' else '' end",
            "case when is_spam_rate_breach then 'spam_rate' else '' end",
        ]) }}) as breached_guardrails_spaced
    from checked
),

final as (
    select
        segment_name,
        segment_kind,
        catalog_position,
        segment_name in (
            {%- for name in winback_segments %}'{{ name }}'{% if not loop.last %}, {% endif %}
            {%- else %}''{% endfor %}
        ) as is_winback_segment,
        cast(deliveries as {{ dbt.type_bigint() }}) as deliveries,
        cast(opens as {{ dbt.type_bigint() }}) as opens,
        cast(unsubscribes as {{ dbt.type_bigint() }}) as unsubscribes,
        cast(spam_complaints as {{ dbt.type_bigint() }}) as spam_complaints,
        cast(open_rate as {{ type_double() }}) as open_rate,
        cast(unsubscribe_rate as {{ type_double() }}) as unsubscribe_rate,
        cast(spam_rate as {{ type_double() }}) as spam_rate,
        case
            when is_window_covered
                then is_open_rate_breach or is_unsubscribe_rate_breach or is_spam_rate_breach
        end as is_breach,
        case
            when not is_window_covered then 'no_history_yet'
            when is_open_rate_breach or is_unsubscribe_rate_breach or is_spam_rate_breach then 'breach'
            else 'ok'
        end as guardrail_status,
        history_starts_on,
        health_window_days,
        window_starts_on,
        -- e.g. 'open_rate, spam_rate'; empty when no guardrail is breached or none is checked
        case
            when is_window_covered then replace(breached_guardrails_spaced, ' ', ', ')
            else ''
        end as breached_guardrails,
        {{ as_of_date() }} as as_of_date
    from labelled
    cross join history_coverage
)

select * from final
