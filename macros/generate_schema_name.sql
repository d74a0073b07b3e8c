{#- Custom schemas are used verbatim (staging, intermediate, marts, reference), so BI users read
    `marts.customer_predictions` rather than `main_marts.customer_predictions`. Without a custom
    schema a model lands in the target's schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
