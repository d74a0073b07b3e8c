{#- Seeds on Spark: dbt-spark's session cursor substitutes each value into the SQL between quotes
    without escaping it, so "The row's key" (seeds/rejection_reasons.csv) breaks the statement.
    Here each value is written as a Spark string literal, backslashes and quotes escaped, and cast
    to the column's type; an empty cell is null. Used through the project's dispatch search order
    (dbt_project.yml) in place of dbt-spark's own spark__load_csv_rows. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set column_types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do column_types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set values = [] -%}
        {%- for row in chunk -%}
            {%- set cells = [] -%}
            {%- for value in row -%}
                {%- if value is none -%}
                    {%- do cells.append('cast(null as ' ~ column_types[loop.index0] ~ ')') -%}
                {%- else -%}
                    {%- set text = (value | string).replace('\\', '\\\\').replace("'", "\\'") -%}
                    {%- do cells.append("cast('" ~ text ~ "' as " ~ column_types[loop.index0] ~ ")") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do values.append('(' ~ cells | join(', ') ~ ')') -%}
        {%- endfor -%}
        {%- set sql = 'insert into ' ~ this.render() ~ ' values ' ~ values | join(', ') -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}
