-- One row per segment of the catalog (_segments__catalog.yml + var segment_catalog_extra), in
-- catalog order: its kind, description, the CLV attributes its definition uses, and the SQL
-- predicate the compiler made of it (for review and debugging).
{%- set compiled = compile_segment_catalog() %}
with

catalog as (
    {%- for segment in compiled.segments %}
        select
            '{{ segment.name }}' as segment_name,
            '{{ segment.kind }}' as segment_kind,
            '{{ segment.description | replace("'", "''") }}' as description,
            '{{ segment.clv_attributes | join(", ") }}'
                as clv_attributes_used,
            '{{ segment.source }}' as segment_source,
            {{ segment.position }} as catalog_position,
            '{{ segment.predicate | replace("'", "''") }}' as definition_sql
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select
        cast(segment_name as {{ dbt.type_string() }}) as segment_name,
        cast(segment_kind as {{ dbt.type_string() }}) as segment_kind,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(clv_attributes_used as {{ dbt.type_string() }}) as clv_attributes_used,
        cast(segment_source as {{ dbt.type_string() }}) as segment_source,
        cast(catalog_position as {{ dbt.type_int() }}) as catalog_position,
        cast(definition_sql as {{ dbt.type_string() }}) as definition_sql
    from catalog
)

select * from final
