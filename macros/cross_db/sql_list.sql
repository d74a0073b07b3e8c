{#- A SQL list of string literals for `in (...)` (quotes escaped); a list that matches nothing
    when empty. -#}
{% macro clv_sql_list(values) -%}
    {%- if values | length == 0 -%}{{ return("''") }}{%- endif -%}
    {%- set literals = [] -%}
    {%- for value in values -%}{%- do literals.append(clv_sql_string(value)) -%}{%- endfor -%}
    {{- return(literals | join(', ')) -}}
{%- endmacro %}
