{#- Days per model time unit for var clv_time_unit (day = 1, week = 7). Windows stay in days. -#}
{% macro clv_time_unit_days() -%}
    {%- set units = {'day': 1, 'week': 7} -%}
    {%- set unit = var('clv_time_unit') -%}
    {%- if unit not in units -%}
        {{ exceptions.raise_compiler_error("var clv_time_unit = '" ~ unit ~ "' is not allowed: use day or week.") }}
    {%- endif -%}
    {{- units[unit] -}}.0
{%- endmacro %}
