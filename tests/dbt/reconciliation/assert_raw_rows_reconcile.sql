-- No raw row disappears: for every raw table, the rows of the raw source (counted here, straight
-- from the source) equal clean rows + rejected rows + collapsed exact duplicates, as counted by
-- marts.raw_row_reconciliation from the staging models. Returns the tables that do not add up.
{{ config(severity='error') }}

{%- set tables = ['customers', 'orders', 'refunds', 'events', 'list_memberships', 'suppressions'] %}

with

raw_counts as (
    {%- for table_name in tables %}
        select
            '{{ table_name }}' as source_table,
            count(*) as raw_rows
        from {{ source('shop', table_name) }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

reconciliation as (
    select * from {{ ref('raw_row_reconciliation') }}
)

select
    raw_counts.source_table,
    raw_counts.raw_rows,
    reconciliation.clean_rows,
    reconciliation.rejected_rows,
    reconciliation.collapsed_duplicates
from raw_counts
left join reconciliation
    on raw_counts.source_table = reconciliation.source_table
where
    reconciliation.accounted_rows is null
    or reconciliation.accounted_rows <> raw_counts.raw_rows
