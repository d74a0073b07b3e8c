-- One row per customer with at least one clean event: engagement counts over the windows the
-- personas use (DESIGN.md "Personas"). Engagement = the event types flagged is_engagement in
-- seeds/event_types.csv; machine opens count only with var count_machine_opens.
with

events as (
    select
        customer_id,
        event_type,
        occurred_at,
        is_machine_open
    from {{ ref('stg_shop__events') }}
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
        events.customer_id,
        events.event_type,
        events.occurred_at,
        {{ days_ago('events.occurred_at') }} as days_ago,
        event_types.is_engagement
            {% if not var('count_machine_opens') -%}
            and not (events.event_type = 'email_opened' and coalesce(events.is_machine_open, false))
            {%- endif %} as is_engagement,
        event_types.is_product_interest
    from events
    inner join event_types
        on events.event_type = event_types.event_type
),

final as (
    select
        customer_id,
        count(*) as total_events,
        sum(case when is_engagement then 1 else 0 end) as total_engagements,
        sum(case when is_engagement and days_ago < {{ var('recent_engagement_days') }} then 1 else 0 end)
            as recent_engagements,
        sum(case
            when is_engagement
                and days_ago >= {{ var('recent_engagement_days') }}
                and days_ago < {{ var('prior_engagement_days') }}
                then 1 else 0
        end) as prior_engagements,
        sum(case when is_product_interest and days_ago < {{ var('recent_engagement_days') }} then 1 else 0 end)
            as recent_product_interest_events,
        sum(case when event_type = 'email_clicked' and days_ago < {{ var('espresso_days') }} then 1 else 0 end)
            as recent_email_clicks,
        sum(case when is_engagement and days_ago < {{ var('dead_weight_days') }} then 1 else 0 end)
            as engagements_within_dead_weight_days,
        max(case when is_engagement then occurred_at end) as last_engaged_at
    from classified
    group by 1
)

select * from final
