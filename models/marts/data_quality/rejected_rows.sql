{%- set base_models = [
    ('customers', 'base_shop__customers', 'customer_id', 'customer_id'),
    ('orders', 'base_shop__orders', 'order_id', 'customer_id'),
    ('refunds', 'base_shop__refunds', 'refund_id', 'null'),
    ('events', 'base_shop__events', 'event_id', 'customer_id'),
    ('list_memberships', 'base_shop__list_memberships', "list_id || ':' || coalesce(customer_id, '')", 'customer_id'),
    ('suppressions', 'base_shop__suppressions', 'customer_id', 'customer_id'),
] -%}

with

{% for source_table, model, key_expression, customer_expression in base_models %}
rejected_{{ source_table }} as (
    select
        '{{ source_table }}' as source_table,
        cast({{ key_expression }} as {{ dbt.type_string() }}) as record_key,
        cast({{ customer_expression }} as {{ dbt.type_string() }}) as customer_id,
        rejection_reason,
        n_copies,
        raw_values
    from {{ ref(model) }}
    where rejection_reason is not null
),

{% endfor %}
unioned as (
{% for source_table, _, _, _ in base_models %}
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
