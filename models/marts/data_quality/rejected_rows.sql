{#- (raw table, base model, key expression, customer expression, columns shown when the base
    model kept no raw text, i.e. when every value of the row parsed) -#}
{%- set base_models = [
    ('customers', 'base_shop__customers', 'customer_id', 'customer_id',
        ['customer_id', 'email', 'created_at', 'country_code', 'region', 'city', 'accepts_marketing']),
    ('orders', 'base_shop__orders', 'order_id', 'customer_id',
        ['order_id', 'customer_id', 'ordered_at', 'amount', 'currency_code', 'status', 'channel', 'is_subscription']),
    ('refunds', 'base_shop__refunds', 'refund_id', 'null',
        ['refund_id', 'order_id', 'refunded_at', 'amount']),
    ('events', 'base_shop__events', 'event_id', 'customer_id',
        ['event_id', 'customer_id', 'event_type', 'occurred_at', 'campaign_id', 'is_machine_open']),
    ('list_memberships', 'base_shop__list_memberships',
        dbt.concat(['list_id', "':'", "coalesce(customer_id, '')"]), 'customer_id',
        ['list_id', 'customer_id', 'subscribed_at', 'unsubscribed_at']),
    ('suppressions', 'base_shop__suppressions', 'customer_id', 'customer_id',
        ['customer_id', 'suppressed_at', 'suppression_reason']),
] -%}

with

{% for source_table, model, key_expression, customer_expression, columns in base_models %}
    rejected_{{ source_table }} as (
        select
            '{{ source_table }}' as source_table,
            cast({{ key_expression }} as {{ dbt.type_string() }}) as record_key,
            cast({{ customer_expression }} as {{ dbt.type_string() }}) as customer_id,
            rejection_reason,
            n_copies,
            coalesce(raw_values, {{ raw_row_text(columns) }}) as raw_values
        from {{ ref(model) }}
        where rejection_reason is not null
    ),

{% endfor %}
unioned as (
    {% for source_table, _, _, _, _ in base_models %}
        select * from rejected_{{ source_table }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        {{ dbt.hash(dbt.concat(['source_table', "'|'", 'raw_values'])) }} as rejected_row_id,
        source_table,
        record_key,
        customer_id,
        rejection_reason,
        n_copies,
        raw_values,
        {{ as_of_date() }} as as_of_date
    from unioned
)

select * from final
