-- One row per distinct raw refund row (exact duplicates collapsed, counted in n_copies), with the
-- reason it is rejected, or null when it is clean. Refunds are in their order's currency and are
-- converted with the order's rate.
with

source as (
    select * from {{ source('shop', 'refunds') }}
),

orders as (
    select
        order_id,
        amount,
        amount_reporting,
        currency_code
    from {{ ref('stg_shop__orders') }}
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
        {{ normalize_id('refund_id') }} as refund_id,
        {{ normalize_id('order_id') }} as order_id,
        {{ parse_timestamp_utc('refunded_at') }} as refunded_at,
        {{ dbt.safe_cast('amount', type_money()) }} as amount,
        {{ raw_row_text(['refund_id', 'order_id', 'refunded_at', 'amount'],
            when=unparseable('refunded_at', parse_timestamp_utc('refunded_at'))
                ~ ' or ' ~ unparseable('amount', dbt.safe_cast('amount', type_money()))) }} as raw_values
    from source
),

collapsed as (
    select
        refund_id,
        order_id,
        refunded_at,
        amount,
        count(*) as n_copies,
        min(raw_values) as raw_values
    from typed
    group by 1, 2, 3, 4
),

-- keys that more than one distinct row claims (a group-by, cheaper than a window at scale)
conflicting_keys as (
    select refund_id
    from collapsed
    where refund_id is not null
    group by 1
    having count(*) > 1
),

checked as (
    select
        collapsed.*,
        orders.order_id is not null as is_known_order,
        orders.amount as order_amount,
        orders.currency_code,
        case
            when collapsed.refund_id is null then 'missing_key'
            when conflicting_keys.refund_id is not null then 'duplicate_key_conflict'
            when collapsed.order_id is null then 'missing_order_id'
            when collapsed.refunded_at is null then 'unparseable_timestamp'
            when collapsed.amount is null then 'unparseable_amount'
            when collapsed.amount <= 0 then 'negative_amount'
            when {{ days_ago('collapsed.refunded_at') }} < 0
                then 'after_as_of_date'
            when orders.order_id is null then 'orphan_refund'
        end as row_rejection_reason
    from collapsed
    left join conflicting_keys
        on collapsed.refund_id = conflicting_keys.refund_id
    left join orders
        on collapsed.order_id = orders.order_id
),

-- A refund is rejected when it brings its order's refunds (in time order) above the order amount.
cumulated as (
    select
        checked.*,
        sum(case when checked.row_rejection_reason is null then checked.amount end) over (
            partition by checked.order_id
            order by checked.refunded_at, checked.refund_id
            rows between unbounded preceding and current row
        ) as cumulative_refunded
    from checked
),

final as (
    select
        cumulated.refund_id,
        cumulated.order_id,
        cumulated.refunded_at,
        cumulated.amount,
        {{ round_money(money_times_rate('cumulated.amount', 'fx_rates.rate_to_reporting')) }}
            as amount_reporting,
        cumulated.n_copies,
        cumulated.raw_values,
        coalesce(
            cumulated.row_rejection_reason,
            case
                when
                    cumulated.cumulative_refunded > cumulated.order_amount
                    then 'refund_exceeds_order'
            end
        ) as rejection_reason
    from cumulated
    left join fx_rates
        on cumulated.currency_code = fx_rates.currency_code
)

select * from final
