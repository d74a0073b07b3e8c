{#-
    Expose the raw files of the input contract as views in the `raw_schema` schema (DuckDB only).

    For each table of the `shop` source (models/staging/shop/_shop__sources.yml) it looks for
    `<raw_data_path>/<table>.parquet` or `<raw_data_path>/<table>.csv` and:
      - creates `<raw_schema>.<table>` as a view selecting the contract's columns from the file
        (CSV is read as text, so that staging can reject unparseable values with a reason code);
      - stops the run, naming the file and the columns, when a contract column is missing;
      - for a missing optional table (meta.required: false) creates an empty table with the
        contract's columns ("none"); for a missing required table stops the run with the path.
    On any other adapter the raw tables are loaded by the shop's ingestion tool: nothing to do.
-#}
{% macro register_raw_files() -%}
    {{ return(adapter.dispatch('register_raw_files', 'clv_segments')()) }}
{%- endmacro %}

{% macro default__register_raw_files() -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__register_raw_files() -%}
    {%- if not execute or not var('register_raw_files', true) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set raw_path = (var('raw_data_path') | string).rstrip('/') -%}
    {%- set raw_schema = var('raw_schema') -%}
    {#- The statements are returned as the hook's SQL, so that dbt runs and commits them. -#}
    {%- set statements = ['create schema if not exists ' ~ adapter.quote(raw_schema)] -%}
    {%- for source_node in graph.sources.values() if source_node.source_name == 'shop' -%}
        {%- set table_name = source_node.name -%}
        {%- set contract_columns = source_node.columns.values() | list -%}
        {%- set is_required = source_node.config.meta.get('required', source_node.meta.get('required', false)) -%}
        {%- set parquet_file = raw_path ~ '/' ~ table_name ~ '.parquet' -%}
        {%- set csv_file = raw_path ~ '/' ~ table_name ~ '.csv' -%}
        {%- set found = run_query(
            "select 'parquet' as kind from glob(" ~ clv_sql_string(parquet_file) ~ ")"
            ~ " union all select 'csv' from glob(" ~ clv_sql_string(csv_file) ~ ")"
        ).columns[0].values() | list -%}
        {%- set relation = adapter.quote(raw_schema) ~ '.' ~ adapter.quote(table_name) -%}
        {%- set existing = adapter.get_relation(database=target.database, schema=raw_schema, identifier=table_name) -%}
        {%- if existing is not none -%}
            {%- do statements.append('drop ' ~ existing.type ~ ' ' ~ relation) -%}
        {%- endif -%}

        {%- if found | length > 1 -%}
            {{ exceptions.raise_compiler_error(
                "Raw table '" ~ table_name ~ "': both " ~ parquet_file ~ " and " ~ csv_file
                ~ " exist (var raw_data_path). Keep one of them.") }}
        {%- elif found | length == 0 -%}
            {%- if is_required -%}
                {{ exceptions.raise_compiler_error(
                    "Required raw table '" ~ table_name ~ "' not found: expected " ~ parquet_file
                    ~ " or " ~ csv_file ~ " (var raw_data_path = '" ~ raw_path ~ "'). "
                    ~ "Run `make demo` to generate demo data, or pass --vars '{raw_data_path: <your folder>}'.") }}
            {%- endif -%}
            {%- set empty_columns = [] -%}
            {%- for column in contract_columns -%}
                {%- do empty_columns.append('cast(null as ' ~ column.data_type ~ ') as ' ~ adapter.quote(column.name)) -%}
            {%- endfor -%}
            {%- do statements.append('create table ' ~ relation ~ ' as select '
                ~ empty_columns | join(', ') ~ ' where 1 = 0') -%}
            {%- do log("raw: " ~ table_name ~ " not found in " ~ raw_path ~ ", optional: registered as empty", info=true) -%}
        {%- else -%}
            {%- if found[0] == 'parquet' -%}
                {%- set file_path = parquet_file -%}
                {%- set reader = "read_parquet(" ~ clv_sql_string(parquet_file) ~ ")" -%}
            {%- else -%}
                {%- set file_path = csv_file -%}
                {%- if (var('raw_csv_encoding', 'utf-8') | lower) in ('utf-8', 'utf8') -%}
                    {%- set invalid = run_query("select try(decode(content)) is null from read_blob("
                        ~ clv_sql_string(csv_file) ~ ")").columns[0].values()[0] -%}
                    {%- if invalid -%}
                        {{ exceptions.raise_compiler_error(
                            "Raw file " ~ csv_file ~ " is not valid UTF-8 text (var raw_csv_encoding = 'utf-8'). "
                            ~ "Re-export it as UTF-8, or set raw_csv_encoding to its encoding (latin-1, utf-16).") }}
                    {%- endif -%}
                {%- endif -%}
                {%- set reader = "read_csv(" ~ clv_sql_string(csv_file) ~ ", header = true, all_varchar = true, "
                    ~ "encoding = " ~ clv_sql_string(var('raw_csv_encoding', 'utf-8')) ~ ")" -%}
            {%- endif -%}
            {%- set file_columns = run_query('describe select * from ' ~ reader).columns[0].values()
                | map('lower') | list -%}
            {%- set missing = [] -%}
            {%- for column in contract_columns if column.name | lower not in file_columns -%}
                {%- do missing.append(column.name) -%}
            {%- endfor -%}
            {%- if missing -%}
                {{ exceptions.raise_compiler_error(
                    "Raw file " ~ file_path ~ " is missing column(s) " ~ missing | join(', ')
                    ~ " of the input contract for table '" ~ table_name ~ "' (models/staging/shop/_shop__sources.yml). "
                    ~ "Columns found: " ~ file_columns | join(', ') ~ ".") }}
            {%- endif -%}
            {%- set select_list = [] -%}
            {%- for column in contract_columns -%}
                {%- do select_list.append(adapter.quote(column.name)) -%}
            {%- endfor -%}
            {%- do statements.append('create view ' ~ relation ~ ' as select '
                ~ select_list | join(', ') ~ ' from ' ~ reader) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- dbt ends the hooks' connection with a rollback on DuckDB: commit explicitly. -#}
    {%- do statements.append('commit') -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{#- A SQL string literal, single quotes escaped. -#}
{% macro clv_sql_string(value) -%}
    {{- return("'" ~ (value | string).replace("'", "''") ~ "'") -}}
{%- endmacro %}
