{{ config(pre_hook="{{ assert_reporting_currency_has_rates() }}") }}
-- One row per distinct raw order row (exact duplicates collapsed, counted in n_copies), with the
-- reason it is rejected, or null when it is clean. Amounts are converted to the reporting currency.
-- Exact duplicates and key conflicts are looked for only among the rows whose key repeats, as in
-- base_shop__events (DECISIONLOG "Staging at scale").
{%- set typed_columns -%}
    {{ normalize_id('order_id') }} as order_id,
        {{ normalize_id('customer_id') }} as customer_id,
        {{ parse_timestamp_utc('ordered_at') }} as ordered_at,
        {{ dbt.safe_cast('amount', type_money()) }} as amount,
        upper(nullif(trim(cast(currency as {{ dbt.type_string() }})), '')) as currency_code,
        {{ normalize_label('status') }} as status,
        {{ normalize_label('channel') }} as channel,
        {{ parse_boolean('is_subscription') }} as is_subscription,
        {{ raw_row_text(
            ['order_id', 'customer_id', 'ordered_at', 'amount', 'currency', 'status', 'channel', 'is_subscription'],
            when=unparseable('ordered_at', parse_timestamp_utc('ordered_at'))
                ~ ' or ' ~ unparseable('amount', dbt.safe_cast('amount', type_money()))
                ~ ' or ' ~ unparseable('is_subscription', parse_boolean('is_subscription'))) }}
            as raw_values
{%- endset %}

with

source as {{ inline_cte() }} (
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

-- normalised keys that more than one raw row carries
repeated_keys as (
    select {{ normalize_id('order_id') }} as repeated_order_id
    from source
    group by 1
    having count(*) > 1
),

-- each raw row, marked when its key repeats or is missing (those rows are grouped below)
keyed as {{ inline_cte() }} (
    select
        source.order_id,
        source.customer_id,
        source.ordered_at,
        source.amount,
        source.currency,
        source.status,
        source.channel,
        source.is_subscription,
        (
            repeated_keys.repeated_order_id is not null
            or {{ normalize_id('source.order_id') }} is null
        ) as is_grouped
    from source
    left join repeated_keys
        on {{ normalize_id('source.order_id') }} = repeated_keys.repeated_order_id
),

-- a key no other row carries: the row is distinct and its key in no conflict
single_rows as (
    select
        {{ typed_columns }},
        cast(1 as {{ dbt.type_bigint() }}) as n_copies
    from keyed
    where not is_grouped
),

-- rows whose key repeats (or is missing): exact duplicates collapse into one row
grouped_rows as (
    select
        {{ typed_columns }}
    from keyed
    where is_grouped
),

collapsed_rows as (
    select
        order_id,
        customer_id,
        ordered_at,
        amount,
        currency_code,
        status,
        channel,
        is_subscription,
        min(raw_values) as raw_values,
        count(*) as n_copies
    from grouped_rows
    group by 1, 2, 3, 4, 5, 6, 7, 8
),

-- keys that more than one distinct row claims
conflicting_keys as (
    select order_id
    from collapsed_rows
    where order_id is not null
    group by 1
    having count(*) > 1
),

collapsed as (
    select
        single_rows.order_id,
        single_rows.customer_id,
        single_rows.ordered_at,
        single_rows.amount,
        single_rows.currency_code,
        single_rows.status,
        single_rows.channel,
        single_rows.is_subscription,
        single_rows.n_copies,
        single_rows.raw_values,
        false as has_conflicting_key
    from single_rows
    union all
    select
        collapsed_rows.order_id,
        collapsed_rows.customer_id,
        collapsed_rows.ordered_at,
        collapsed_rows.amount,
        collapsed_rows.currency_code,
        collapsed_rows.status,
        collapsed_rows.channel,
        collapsed_rows.is_subscription,
        collapsed_rows.n_copies,
        collapsed_rows.raw_values,
        conflicting_keys.order_id is not null as has_conflicting_key
    from collapsed_rows
    left join conflicting_keys
        on collapsed_rows.order_id = conflicting_keys.order_id
),

checked as (
    select
        collapsed.*,
        fx_rates.rate_to_reporting,
        -- exact product; rounded once, to the cent, half away from zero (macros/cross_db/money.sql)
        {{ money_times_rate('collapsed.amount', 'fx_rates.rate_to_reporting') }}
            as amount_reporting_unrounded,
        {{ round_money(money_times_rate('collapsed.amount', 'fx_rates.rate_to_reporting')) }}
            as amount_reporting,
        customers.customer_id is not null as is_known_customer
    from collapsed
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
            when
                amount_reporting_unrounded > {{ var('max_order_amount') }}
                then 'amount_above_maximum'
            when status is null or status not in ('placed', 'cancelled') then 'unknown_status'
            when {{ days_ago('ordered_at') }} < 0
                then 'after_as_of_date'
            when not is_known_customer then 'unknown_customer'
        end as rejection_reason
    from checked
)

select * from final
