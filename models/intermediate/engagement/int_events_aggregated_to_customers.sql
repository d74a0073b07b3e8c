-- One row per customer with at least one clean event: engagement counts over the windows the
-- personas use (DESIGN.md "Personas"). Engagement = the event types flagged is_engagement in
-- seeds/event_types.csv; machine opens count only with var count_machine_opens.
with

event_days as (
    select
        customer_id,
        occurred_date,
        event_type,
        n_events,
        n_machine_opens
    from {{ ref('int_events_aggregated_to_customer_days') }}
    where occurred_date <= {{ as_of_date() }}
),

event_types as (
    select
        event_type,
        is_engagement,
        is_product_interest
    from {{ ref('event_types') }}
),

classified as (
    select
        event_days.customer_id,
        event_days.event_type,
        event_days.occurred_date,
        {{ days_ago('event_days.occurred_date') }} as days_ago,
        event_days.n_events,
        case
            when not event_types.is_engagement then 0
            {% if not var('count_machine_opens') -%}
                when
                    event_days.event_type = 'email_opened'
                    then event_days.n_events - event_days.n_machine_opens
            {% endif -%}
            else event_days.n_events
        end as n_engagements,
        event_types.is_product_interest
    from event_days
    inner join event_types
        on event_days.event_type = event_types.event_type
),

final as (
    select
        customer_id,
        sum(n_events) as total_events,
        sum(n_engagements) as total_engagements,
        sum(case when days_ago < {{ var('recent_engagement_days') }} then n_engagements else 0 end)
            as recent_engagements,
        sum(case
            when
                days_ago >= {{ var('recent_engagement_days') }}
                and days_ago < {{ var('prior_engagement_days') }}
                then n_engagements
            else 0
        end) as prior_engagements,
        sum(case
            when
                is_product_interest and days_ago < {{ var('recent_engagement_days') }}
                then n_events else
                0
        end) as recent_product_interest_events,
        sum(case
            when
                event_type = 'email_clicked' and days_ago < {{ var('espresso_days') }}
                then n_events else
                0
        end) as recent_email_clicks,
        sum(case when days_ago < {{ var('dead_weight_days') }} then n_engagements else 0 end)
            as engagements_within_dead_weight_days,
        max(case when n_engagements > 0 then occurred_date end) as last_engaged_date
    from classified
    group by 1
)

select * from final
