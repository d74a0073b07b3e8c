{{ config(pre_hook="{{ assert_reporting_currency_has_rates() }}") }}
-- One row per distinct raw order row (exact duplicates collapsed, counted in n_copies), with the
-- reason it is rejected, or null when it is clean. Amounts are converted to the reporting currency.
with

source as (
    select * from {{ source('shop', 'orders') }}
),

customers as (
    select customer_id from {{ ref('stg_shop__customers') }}
),

fx_rates as (
    select
        currency_code,
        rate_to_reporting
    from {{ ref('fx_rates') }}
    where reporting_currency = '{{ var("reporting_currency") }}'
),

typed as (
    select
        {{ normalize_id('order_id') }} as order_id,
        {{ normalize_id('customer_id') }} as customer_id,
        {{ parse_timestamp_utc('ordered_at') }} as ordered_at,
        {{ dbt.safe_cast('amount', type_money()) }} as amount,
        upper(nullif(trim(cast(currency as {{ dbt.type_string() }})), '')) as currency_code,
        {{ normalize_label('status') }} as status,
        {{ normalize_label('channel') }} as channel,
        {{ parse_boolean('is_subscription') }} as is_subscription,
        {{ raw_row_text(['order_id', 'customer_id', 'ordered_at', 'amount', 'currency', 'status', 'channel', 'is_subscription'],
            when=unparseable('ordered_at', parse_timestamp_utc('ordered_at')) ~ ' or ' ~ unparseable('amount', dbt.safe_cast('amount', type_money())) ~ ' or ' ~ unparseable('is_subscription', parse_boolean('is_subscription'))) }}
            as raw_values
    from source
),

collapsed as (
    select
        order_id,
        customer_id,
        ordered_at,
        amount,
        currency_code,
        status,
        channel,
        is_subscription,
        count(*) as n_copies,
        min(raw_values) as raw_values
    from typed
    group by 1, 2, 3, 4, 5, 6, 7, 8
),

-- keys that more than one distinct row claims (a group-by, cheaper than a window at scale)
conflicting_keys as (
    select order_id
    from collapsed
    where order_id is not null
    group by 1
    having count(*) > 1
),

checked as (
    select
        collapsed.*,
        fx_rates.rate_to_reporting,
        -- exact product; rounded once, to the cent, half away from zero (macros/cross_db/money.sql)
        {{ money_times_rate('collapsed.amount', 'fx_rates.rate_to_reporting') }} as amount_reporting_unrounded,
        {{ round_money(money_times_rate('collapsed.amount', 'fx_rates.rate_to_reporting')) }} as amount_reporting,
        customers.customer_id is not null as is_known_customer,
        conflicting_keys.order_id is not null as has_conflicting_key
    from collapsed
    left join conflicting_keys
        on collapsed.order_id = conflicting_keys.order_id
    left join fx_rates
        on collapsed.currency_code = fx_rates.currency_code
    left join customers
        on collapsed.customer_id = customers.customer_id
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        amount,
        currency_code,
        rate_to_reporting,
        amount_reporting,
        status,
        coalesce(channel, 'unknown') as channel,
        coalesce(is_subscription, false) as is_subscription,
        n_copies,
        raw_values,
        case
            when order_id is null then 'missing_key'
            when has_conflicting_key then 'duplicate_key_conflict'
            when customer_id is null then 'missing_customer_id'
            when ordered_at is null then 'unparseable_timestamp'
            when amount is null then 'unparseable_amount'
            when amount < 0 then 'negative_amount'
            when rate_to_reporting is null then 'unknown_currency'
            when amount_reporting_unrounded > {{ var('max_order_amount') }} then 'amount_above_maximum'
            when status is null or status not in ('placed', 'cancelled') then 'unknown_status'
            when {{ days_ago('ordered_at') }} < 0 then 'after_as_of_date'
            when not is_known_customer then 'unknown_customer'
        end as rejection_reason
    from checked
)

select * from final
