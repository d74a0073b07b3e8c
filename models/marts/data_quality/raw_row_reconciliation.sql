{%- set tables = ['customers', 'orders', 'refunds', 'events', 'list_memberships', 'suppressions'] -%}

with

rejected_rows as (
    select
        source_table,
        count(*) as rejected_rows
    from {{ ref('rejected_rows') }}
    group by 1
),

{% for table_name in tables %}
    counted_{{ table_name }} as (
        select
            '{{ table_name }}' as source_table,
            (select count(*) as n_rows from {{ ref('stg_shop__' ~ table_name) }}) as clean_rows,
            (
                select cast(coalesce(sum(n_copies - 1), 0) as {{ dbt.type_bigint() }})
                from {{ ref('base_shop__' ~ table_name) }}
            )
                as collapsed_duplicates
    ),

{% endfor %}
counted as (
    {% for table_name in tables %}
        select * from counted_{{ table_name }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        counted.source_table,
        counted.clean_rows,
        coalesce(rejected_rows.rejected_rows, 0) as rejected_rows,
        counted.collapsed_duplicates,
        cast(
            counted.clean_rows
            + coalesce(rejected_rows.rejected_rows, 0)
            + counted.collapsed_duplicates
            as {{ dbt.type_bigint() }}
        ) as accounted_rows,
        {{ as_of_date() }} as as_of_date
    from counted
    left join rejected_rows
        on counted.source_table = rejected_rows.source_table
)

select * from final
