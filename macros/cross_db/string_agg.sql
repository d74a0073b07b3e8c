{#- Concatenate the non-null values of an expression with a separator (sorted). -#}
{% macro clv_string_agg(expression, separator_literal) -%}
    {{ return(adapter.dispatch('clv_string_agg', 'clv_segments')(expression, separator_literal)) }}
{%- endmacro %}

{% macro default__clv_string_agg(expression, separator_literal) -%}
    {{ dbt.listagg(expression, separator_literal, 'order by ' ~ expression) }}
{%- endmacro %}

{% macro duckdb__clv_string_agg(expression, separator_literal) -%}
    string_agg({{ expression }}, {{ separator_literal }} order by {{ expression }})
{%- endmacro %}

{#- Spark has no ordered listagg (dbt.listagg drops the order there): the values are collected
    (nulls skipped), sorted, then joined; null when there is none, as string_agg gives. -#}
{% macro spark__clv_string_agg(expression, separator_literal) -%}
    case when count({{ expression }}) > 0 then
        array_join(array_sort(collect_list({{ expression }})), {{ separator_literal }})
    end
{%- endmacro %}
