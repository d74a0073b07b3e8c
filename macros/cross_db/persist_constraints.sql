{#- Contract constraints on Spark. dbt-spark applies them only to Delta tables (`ALTER TABLE ...
    CHANGE COLUMN ... SET NOT NULL`, which parquet tables reject); on other file formats it
    silently skips them. Here a parquet (or other non-Delta) table's `not_null` constraints are
    enforced by one query after the table is written: a null in such a column fails the model,
    naming the columns, as the constraint would have (DECISIONLOG "Spark: not_null constraints").
    Delta tables keep dbt-spark's behaviour. Taken before dbt-spark's through the project's
    dispatch search order. -#}
{% macro spark__persist_constraints(relation, model) %}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced and config.get('file_format', 'delta') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
    {%- elif contract_config.enforced -%}
        {%- do clv_assert_not_null_constraints(relation, model.columns) -%}
    {%- endif -%}
{% endmacro %}

{#- Fail when a column with a `not_null` constraint holds a null (one query for all of them). -#}
{% macro clv_assert_not_null_constraints(relation, columns) %}
    {%- set checked = [] -%}
    {%- for column_name, column in columns.items() -%}
        {%- if column.get('constraints', []) | selectattr('type', 'equalto', 'not_null') | list -%}
            {%- do checked.append(column_name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if checked | length == 0 -%}{{ return(none) }}{%- endif -%}
    {%- set counts = [] -%}
    {%- for column_name in checked -%}
        {%- do counts.append('sum(case when ' ~ adapter.quote(column_name) ~ ' is null then 1 else 0 end) as '
            ~ adapter.quote('nulls_' ~ loop.index0)) -%}
    {%- endfor -%}
    {%- set row = run_query('select ' ~ counts | join(', ') ~ ' from ' ~ relation).rows[0] -%}
    {%- set violated = [] -%}
    {%- for position in range(checked | length) if (row[position] or 0) > 0 -%}
        {%- do violated.append(checked[position] ~ ' (' ~ row[position] ~ ' nulls)') -%}
    {%- endfor -%}
    {%- if violated -%}
        {{ exceptions.raise_compiler_error(
            "Contract of " ~ relation ~ ": not_null constraint violated by " ~ violated | join(', ')
            ~ " (enforced after the write: parquet tables cannot hold the constraint).") }}
    {%- endif -%}
{% endmacro %}
