{#-
    On-run-start: make sure every table of the `published_history` source exists, creating the
    missing ones empty with the columns declared in models/history/_history__sources.yml. The run
    command places the last published history there; without one (the first run, a plain
    `dbt build`), history starts at this run's as-of date. Portable SQL: no adapter branch.
-#}
{% macro register_published_history() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set schema_name = var('published_history_schema') -%}
    {%- set statements = [] -%}
    {%- for source_node in graph.sources.values() if source_node.source_name == 'published_history' -%}
        {%- set existing = adapter.get_relation(database=target.database, schema=schema_name, identifier=source_node.name) -%}
        {%- if existing is none -%}
            {%- if statements | length == 0 -%}
                {%- do statements.append('create schema if not exists ' ~ adapter.quote(schema_name)) -%}
            {%- endif -%}
            {%- set columns = [] -%}
            {%- for column in source_node.columns.values() -%}
                {%- do columns.append('cast(null as ' ~ history_column_type(column.data_type) ~ ') as ' ~ adapter.quote(column.name)) -%}
            {%- endfor -%}
            {%- do statements.append('create table ' ~ adapter.quote(schema_name) ~ '.' ~ adapter.quote(source_node.name)
                ~ ' as select ' ~ columns | join(', ') ~ ' where 1 = 0') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(clv_hook_statements(statements)) }}
{%- endmacro %}

{#- A source column's declared type as this adapter spells it (varchar is `string` on Spark). -#}
{% macro history_column_type(data_type) -%}
    {%- if data_type in ('varchar', 'text', 'string') -%}{{ return(dbt.type_string()) }}
    {%- elif data_type == 'double' -%}{{ return(type_double()) }}
    {%- else -%}{{ return(api.Column.translate_type(data_type)) }}
    {%- endif -%}
{%- endmacro %}

