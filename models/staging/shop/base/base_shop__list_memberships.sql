-- One row per distinct raw list-membership row (exact duplicates collapsed, counted in n_copies),
-- with the reason it is rejected, or null when it is clean. The key is (list_id, customer_id,
-- subscribed_at): a customer who leaves and joins again has two rows.
with

source as (
    select * from {{ source('shop', 'list_memberships') }}
),

customers as (
    select customer_id from {{ ref('stg_shop__customers') }}
),

typed as (
    select
        nullif(trim(cast(list_id as {{ dbt.type_string() }})), '') as list_id,
        {{ normalize_id('customer_id') }} as customer_id,
        {{ parse_timestamp_utc('subscribed_at') }} as subscribed_at,
        {{ parse_timestamp_utc('unsubscribed_at') }} as unsubscribed_at,
        unsubscribed_at is not null as has_unsubscribed_at,
        {{ raw_row_text(['list_id', 'customer_id', 'subscribed_at', 'unsubscribed_at'],
            when=unparseable('subscribed_at', parse_timestamp_utc('subscribed_at'))
                ~ ' or ' ~ unparseable('unsubscribed_at', parse_timestamp_utc('unsubscribed_at'))) }} as raw_values
    from source
),

collapsed as (
    select
        list_id,
        customer_id,
        subscribed_at,
        unsubscribed_at,
        has_unsubscribed_at,
        count(*) as n_copies,
        min(raw_values) as raw_values
    from typed
    group by 1, 2, 3, 4, 5
),

final as (
    select
        collapsed.list_id,
        collapsed.customer_id,
        collapsed.subscribed_at,
        -- leaving after the as-of date has not happened yet, as of that date
        case
            when {{ days_ago('collapsed.unsubscribed_at') }} >= 0
                then collapsed.unsubscribed_at
        end as unsubscribed_at,
        collapsed.n_copies,
        collapsed.raw_values,
        case
            when collapsed.list_id is null then 'missing_key'
            when collapsed.customer_id is null then 'missing_customer_id'
            when count(*) over (
                partition by collapsed.list_id, collapsed.customer_id, collapsed.subscribed_at
            ) > 1 then 'duplicate_key_conflict'
            when collapsed.subscribed_at is null then 'unparseable_timestamp'
            when
                collapsed.has_unsubscribed_at and collapsed.unsubscribed_at is null
                then 'unparseable_timestamp'
            when collapsed.unsubscribed_at < collapsed.subscribed_at then 'invalid_interval'
            when {{ days_ago('collapsed.subscribed_at') }} < 0
                then 'after_as_of_date'
            when customers.customer_id is null then 'unknown_customer'
        end as rejection_reason
    from collapsed
    left join customers
        on collapsed.customer_id = customers.customer_id
)

select * from final
