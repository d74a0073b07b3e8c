-- One row per distinct raw suppression row (exact duplicates collapsed, counted in n_copies), with
-- the reason it is rejected, or null when it is clean. The key is (customer_id, suppressed_at, reason).
with

source as (
    select * from {{ source('shop', 'suppressions') }}
),

customers as (
    select customer_id from {{ ref('stg_shop__customers') }}
),

typed as (
    select
        {{ normalize_id('customer_id') }} as customer_id,
        {{ parse_timestamp_utc('suppressed_at') }} as suppressed_at,
        {{ normalize_label('reason') }} as suppression_reason,
        {{ raw_row_text(['customer_id', 'suppressed_at', 'reason'],
            when=unparseable('suppressed_at', parse_timestamp_utc('suppressed_at'))) }} as raw_values
    from source
),

collapsed as (
    select
        customer_id,
        suppressed_at,
        suppression_reason,
        count(*) as n_copies,
        min(raw_values) as raw_values
    from typed
    group by 1, 2, 3
),

final as (
    select
        collapsed.customer_id,
        collapsed.suppressed_at,
        collapsed.suppression_reason,
        collapsed.n_copies,
        collapsed.raw_values,
        case
            when collapsed.customer_id is null then 'missing_customer_id'
            when collapsed.suppressed_at is null then 'unparseable_timestamp'
            when
                collapsed.suppression_reason is null
                or collapsed.suppression_reason not in (
                    'unsubscribed', 'bounced', 'spam_complaint', 'manual'
                )
                then 'unknown_suppression_reason'
            when {{ days_ago('collapsed.suppressed_at') }} < 0
                then 'after_as_of_date'
            when customers.customer_id is null then 'unknown_customer'
        end as rejection_reason
    from collapsed
    left join customers
        on collapsed.customer_id = customers.customer_id
)

select * from final
