{#-
    Expose the raw files of the input contract as views in the `raw_schema` schema (DuckDB only).

    For each table of the `shop` source (models/staging/shop/_shop__sources.yml) it looks for
    `<raw_data_path>/<table>.parquet` or `<raw_data_path>/<table>.csv` and:
      - creates `<raw_schema>.<table>` as a view selecting the contract's columns from the file
        (CSV is read as text, so that staging can reject unparseable values with a reason code);
      - stops the run, naming the file and the columns, when a contract column is missing;
      - for a missing optional table (meta.required: false), or a 0-byte file of one, creates an
        empty table with the contract's columns ("none"); for a missing or 0-byte required table
        stops the run naming the file;
      - reads a CSV that mixes LF and CRLF line endings (non-strict mode, for that file only).
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
        {%- set is_empty_file = false -%}
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
        {%- else -%}
            {%- set file_path = parquet_file if found[0] == 'parquet' else csv_file -%}
            {#- A 0-byte file has not even a header: an optional table is empty, a required one stops. -#}
            {%- set file_bytes = run_query("select size from read_blob(" ~ clv_sql_string(file_path) ~ ")").columns[0].values()[0] -%}
            {%- set is_empty_file = file_bytes == 0 -%}
            {%- if is_empty_file and is_required -%}
                {{ exceptions.raise_compiler_error(
                    "Raw file " ~ file_path ~ " is empty (0 bytes), but table '" ~ table_name ~ "' is required. "
                    ~ "Re-export it with at least its header row (" ~ contract_columns | map(attribute='name') | join(',')
                    ~ "), or check the export that wrote it.") }}
            {%- endif -%}
        {%- endif -%}
        {%- if found | length == 0 or is_empty_file -%}
            {%- set empty_columns = [] -%}
            {%- for column in contract_columns -%}
                {%- do empty_columns.append('cast(null as ' ~ column.data_type ~ ') as ' ~ adapter.quote(column.name)) -%}
            {%- endfor -%}
            {%- do statements.append('create table ' ~ relation ~ ' as select '
                ~ empty_columns | join(', ') ~ ' where 1 = 0') -%}
            {%- if found | length == 0 -%}
                {%- do log("raw: " ~ table_name ~ " not found in " ~ raw_path ~ ", optional: registered as empty", info=true) -%}
            {%- else -%}
                {%- do log("raw: " ~ file_path ~ " is empty (0 bytes), optional: registered as empty", info=true) -%}
            {%- endif -%}
        {%- else -%}
            {%- if found[0] == 'parquet' -%}
                {%- set reader = "read_parquet(" ~ clv_sql_string(parquet_file) ~ ")" -%}
            {%- else -%}
                {#- Mixed line endings (LF and CRLF in one file, e.g. rows appended by another tool)
                    make DuckDB's strict CSV sniffer give up; such a file is read in non-strict mode,
                    which accepts both, with RFC 4180 quoting stated (quote and escape '"', which the
                    non-strict sniffer would miss: 'say ""hi""'). Other files keep the strict reader,
                    which keeps malformed quotes as they are instead of repairing them. Detected on
                    UTF-8 files. -#}
                {%- set has_mixed_line_endings = false -%}
                {%- if (var('raw_csv_encoding', 'utf-8') | lower) in ('utf-8', 'utf8') -%}
                    {%- set checks = run_query(
                        "select text is null as is_invalid, coalesce(contains(text, chr(13) || chr(10))"
                        ~ " and regexp_matches(text, '(^|[^' || chr(13) || '])' || chr(10)), false)"
                        ~ " as has_mixed_line_endings"
                        ~ " from (select try(decode(content)) as text from read_blob(" ~ clv_sql_string(csv_file) ~ "))") -%}
                    {%- if checks.columns[0].values()[0] -%}
                        {{ exceptions.raise_compiler_error(
                            "Raw file " ~ csv_file ~ " is not valid UTF-8 text (var raw_csv_encoding = 'utf-8'). "
                            ~ "Re-export it as UTF-8, or set raw_csv_encoding to its encoding (latin-1, utf-16).") }}
                    {%- endif -%}
                    {%- set has_mixed_line_endings = checks.columns[1].values()[0] -%}
                {%- endif -%}
                {%- if has_mixed_line_endings -%}
                    {%- do log("raw: " ~ csv_file ~ " mixes LF and CRLF line endings: read in non-strict mode", info=true) -%}
                {%- endif -%}
                {%- set reader = "read_csv(" ~ clv_sql_string(csv_file) ~ ", header = true, all_varchar = true, "
                    ~ "encoding = " ~ clv_sql_string(var('raw_csv_encoding', 'utf-8'))
                    ~ (", quote = '\"', escape = '\"', strict_mode = false" if has_mixed_line_endings else "") ~ ")" -%}
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

{#- Spark: the same files, registered as tables over the files (parquet, or CSV read as text with
    RFC 4180 quoting) in `raw_schema`, so `source()` reads them as on DuckDB. The folder is listed
    through Spark's binaryFile source (names and sizes only, no content is read), which also gives
    absolute paths: the tables stay valid for the next command whatever its working folder.
    Each statement runs on its own: dbt-spark's session cursor runs one statement at a time. -#}
{% macro spark__register_raw_files() -%}
    {%- if not execute or not var('register_raw_files', true) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set raw_path = (var('raw_data_path') | string).rstrip('/') -%}
    {%- set raw_schema = var('raw_schema') -%}
    {%- set listing = run_query("select path, length from binaryFile.`" ~ raw_path ~ "`") -%}
    {%- set files = {} -%}
    {%- for row in listing.rows -%}
        {%- do files.update({row[0].split('/')[-1]: {'path': row[0], 'bytes': row[1]}}) -%}
    {%- endfor -%}
    {%- do run_query('create schema if not exists ' ~ adapter.quote(raw_schema)) -%}
    {%- for source_node in graph.sources.values() if source_node.source_name == 'shop' -%}
        {%- set table_name = source_node.name -%}
        {%- set contract_columns = source_node.columns.values() | list -%}
        {%- set is_required = source_node.config.meta.get('required', source_node.meta.get('required', false)) -%}
        {%- set found = [] -%}
        {%- for kind in ['parquet', 'csv'] if (table_name ~ '.' ~ kind) in files -%}
            {%- do found.append(kind) -%}
        {%- endfor -%}
        {%- set relation = adapter.quote(raw_schema) ~ '.' ~ adapter.quote(table_name) -%}
        {%- set existing = adapter.get_relation(database=target.database, schema=raw_schema, identifier=table_name) -%}
        {%- if existing is not none -%}
            {%- do run_query('drop ' ~ existing.type ~ ' if exists ' ~ relation) -%}
        {%- endif -%}
        {%- if found | length > 1 -%}
            {{ exceptions.raise_compiler_error(
                "Raw table '" ~ table_name ~ "': both " ~ raw_path ~ "/" ~ table_name ~ ".parquet and "
                ~ raw_path ~ "/" ~ table_name ~ ".csv exist (var raw_data_path). Keep one of them.") }}
        {%- endif -%}
        {%- set file = files.get(table_name ~ '.' ~ found[0]) if found else none -%}
        {%- if file is none or file['bytes'] == 0 -%}
            {%- if is_required -%}
                {{ exceptions.raise_compiler_error(
                    "Required raw table '" ~ table_name ~ "' not found or empty: expected " ~ raw_path ~ "/"
                    ~ table_name ~ ".parquet or .csv with at least its header row (var raw_data_path = '"
                    ~ raw_path ~ "').") }}
            {%- endif -%}
            {%- set empty_columns = [] -%}
            {%- for column in contract_columns -%}
                {%- do empty_columns.append(adapter.quote(column.name) ~ ' ' ~ history_column_type(column.data_type)) -%}
            {%- endfor -%}
            {%- do run_query('create table ' ~ relation ~ ' (' ~ empty_columns | join(', ') ~ ') using parquet') -%}
            {%- do log("raw: " ~ table_name ~ " not found or empty in " ~ raw_path ~ ", optional: registered as empty", info=true) -%}
        {%- else -%}
            {%- if found[0] == 'parquet' -%}
                {%- set options = "path " ~ clv_sql_string(file['path']) -%}
            {%- else -%}
                {%- set options = "path " ~ clv_sql_string(file['path']) ~ ", header 'true', inferSchema 'false', "
                    ~ "quote '\"', escape '\"', multiLine 'true', "
                    ~ "encoding " ~ clv_sql_string(var('raw_csv_encoding', 'utf-8')) -%}
            {%- endif -%}
            {%- do run_query('create table ' ~ relation ~ ' using ' ~ found[0] ~ ' options (' ~ options ~ ')') -%}
            {%- set file_columns = adapter.get_columns_in_relation(api.Relation.create(schema=raw_schema, identifier=table_name))
                | map(attribute='name') | map('lower') | list -%}
            {%- set missing = [] -%}
            {%- for column in contract_columns if column.name | lower not in file_columns -%}
                {%- do missing.append(column.name) -%}
            {%- endfor -%}
            {%- if missing -%}
                {{ exceptions.raise_compiler_error(
                    "Raw file " ~ file['path'] ~ " is missing column(s) " ~ missing | join(', ')
                    ~ " of the input contract for table '" ~ table_name ~ "' (models/staging/shop/_shop__sources.yml). "
                    ~ "Columns found: " ~ file_columns | join(', ') ~ ".") }}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}
