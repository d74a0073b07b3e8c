-- One row per distinct raw event row (exact duplicates collapsed, counted in n_copies), with the
-- reason it is rejected, or null when it is clean.
with

source as (
    select * from {{ source('shop', 'events') }}
),

customers as (
    select customer_id from {{ ref('stg_shop__customers') }}
),

event_types as (
    select event_type from {{ ref('event_types') }}
),

typed as (
    select
        {{ normalize_id('event_id') }} as event_id,
        {{ normalize_id('customer_id') }} as customer_id,
        {{ normalize_label('event_type') }} as event_type,
        {{ parse_timestamp_utc('occurred_at') }} as occurred_at,
        nullif(trim(cast(campaign_id as {{ dbt.type_string() }})), '') as campaign_id,
        {{ parse_boolean('is_machine_open') }} as is_machine_open,
        {{ raw_row_text(['event_id', 'customer_id', 'event_type', 'occurred_at', 'campaign_id', 'is_machine_open'],
            when=unparseable('occurred_at', parse_timestamp_utc('occurred_at')) ~ ' or ' ~ unparseable('is_machine_open', parse_boolean('is_machine_open'))) }}
            as raw_values
    from source
),

collapsed as (
    select
        event_id,
        customer_id,
        event_type,
        occurred_at,
        campaign_id,
        is_machine_open,
        count(*) as n_copies,
        min(raw_values) as raw_values
    from typed
    group by 1, 2, 3, 4, 5, 6
),

-- keys that more than one distinct row claims (a group-by, cheaper than a window at scale)
conflicting_keys as (
    select event_id
    from collapsed
    where event_id is not null
    group by 1
    having count(*) > 1
),

final as (
    select
        collapsed.event_id,
        collapsed.customer_id,
        collapsed.event_type,
        collapsed.occurred_at,
        collapsed.campaign_id,
        collapsed.is_machine_open,
        collapsed.n_copies,
        collapsed.raw_values,
        case
            when collapsed.event_id is null then 'missing_key'
            when conflicting_keys.event_id is not null then 'duplicate_key_conflict'
            when collapsed.customer_id is null then 'missing_customer_id'
            when event_types.event_type is null then 'unknown_event_type'
            when collapsed.occurred_at is null then 'unparseable_timestamp'
            when {{ days_ago('collapsed.occurred_at') }} < 0 then 'after_as_of_date'
            when customers.customer_id is null then 'unknown_customer'
        end as rejection_reason
    from collapsed
    left join conflicting_keys
        on collapsed.event_id = conflicting_keys.event_id
    left join event_types
        on collapsed.event_type = event_types.event_type
    left join customers
        on collapsed.customer_id = customers.customer_id
)

select * from final
