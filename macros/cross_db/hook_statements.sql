{#- The SQL an on-run-start hook returns for a list of statements: joined with ';' for dbt to run
    as one script, or '' when there is none. dbt-spark's session cursor runs one statement per
    call, so on Spark each statement runs here, one by one, and the hook returns nothing. -#}
{% macro clv_hook_statements(statements) -%}
    {{ return(adapter.dispatch('clv_hook_statements', 'clv_segments')(statements)) }}
{%- endmacro %}

{% macro default__clv_hook_statements(statements) -%}
    {%- if statements | length == 0 -%}{{ return('') }}{%- endif -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{% macro spark__clv_hook_statements(statements) -%}
    {%- for statement in statements -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}
