-- noqa: disable=LT02
-- (LT02, indentation, is left to a hand reflow: see DECISIONLOG "sqlfluff")
-- One row per customer and segment they belong to, as of the as-of date: every definition of the
-- segment catalog (_segments__catalog.yml + var segment_catalog_extra) compiled by
-- compile_segment_catalog() (macros/segments/) into a predicate over the customer's attributes,
-- current list memberships (lists are static: only the raw list_memberships change them) and
-- counts of events and valid orders in a window. Segments are dynamic: recomputed at every run.
{%- set compiled = compile_segment_catalog() %}
{%- do validate_segment_catalog_against_data(compiled, ref('stg_shop__list_memberships'), ref('event_types')) %}
with

attributes as (
    select * from {{ ref('int_customers_joined_to_attributes') }}
),

list_memberships as (
    select
        list_id,
        customer_id
    from {{ ref('stg_shop__list_memberships') }}
    where is_current_member
),

event_days as (
    select
        customer_id,
        occurred_date,
        event_type,
        n_events,
        n_machine_opens
    from {{ ref('int_events_aggregated_to_customer_days') }}
),

event_types as (
    select
        event_type,
        is_engagement
    from {{ ref('event_types') }}
),

valid_orders as (
    select
        customer_id,
        channel,
        days_ago
    from {{ ref('int_orders_netted') }}
    where is_valid_order
),

list_memberships_current as (
    select
        customer_id
        {%- for list_id in compiled.lists %},
        max(case when list_id = '{{ list_id | replace("'", "''") }}' then 1 else 0 end) = 1 as in_list_{{ loop.index }}
        {%- endfor %}
    from list_memberships
    group by 1
),

-- machine opens (Apple Mail Privacy Protection) count only with var count_machine_opens
event_days_counted as (
    select
        event_days.customer_id,
        event_days.event_type,
        event_types.is_engagement,
        {{ days_ago('event_days.occurred_date') }} as days_ago,
        event_days.n_events
        {%- if not var('count_machine_opens') %}
            - case when event_days.event_type = 'email_opened' then event_days.n_machine_opens else 0 end
        {%- endif %} as n_counted_events
    from event_days
    inner join event_types
        on event_days.event_type = event_types.event_type
),

event_counts as (
    select
        customer_id
        {%- for spec in compiled.event_counts %},
        sum(case
            when ({{ segment_event_type_filter(spec.filters) }})
                and {{ segment_window_filter('days_ago', spec) }}
                then n_counted_events else 0
        end) as event_count_{{ loop.index }}
        {%- endfor %}
    from event_days_counted
    where days_ago >= 0
    group by 1
),

-- read by the segments that count orders (ST03 and LT09 see the default catalog, which has none)
order_counts as (  -- noqa: ST03
    select  -- noqa: LT09
        customer_id
        {%- for spec in compiled.order_counts %},
        sum(case
            when {{ segment_window_filter('days_ago', spec) }}
                {%- if spec.filters %}
                and channel in (
                    {%- for channel in spec.filters %}'{{ channel | replace("'", "''") }}'
                    {%- if not loop.last %}, {% endif %}{% endfor %})
                {%- endif %}
                then 1 else 0
        end) as order_count_{{ loop.index }}
        {%- endfor %}
    from valid_orders
    where days_ago >= 0
    group by 1
),

-- Every predicate evaluated once per customer, over one join of the attributes with the list
-- memberships and the counts: a union of one select per segment would repeat the joins for each
-- segment, a plan that grows with the catalog (slow to optimise on Spark).
flagged as (
    select
        attributes.customer_id
        {%- for segment in compiled.segments %},
        {{ segment.predicate }} as is_member_{{ loop.index }}
        {%- endfor %}
    from attributes
    {%- if compiled.lists %}
    left join list_memberships_current
        on attributes.customer_id = list_memberships_current.customer_id
    {%- endif %}
    {%- if compiled.event_counts %}
    left join event_counts
        on attributes.customer_id = event_counts.customer_id
    {%- endif %}
    {%- if compiled.order_counts %}
    left join order_counts
        on attributes.customer_id = order_counts.customer_id
    {%- endif %}
),

segments as (
    {%- for segment in compiled.segments %}
    select
        {{ loop.index }} as segment_position,
        '{{ segment.name }}' as segment_name,
        '{{ segment.kind }}' as segment_kind
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

segmented as (
    select
        segments.segment_name,
        segments.segment_kind,
        flagged.customer_id
    from flagged
    cross join segments
    where
        case segments.segment_position
            {%- for segment in compiled.segments %}
            when {{ loop.index }} then flagged.is_member_{{ loop.index }}
            {%- endfor %}
        end
),

final as (
    select
        segment_name,
        segment_kind,
        customer_id
    from segmented
)

select * from final
