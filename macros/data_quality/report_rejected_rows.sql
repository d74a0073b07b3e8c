{#-
    on-run-end: print how many rows were rejected, per raw table and reason code, after every
    `dbt build` / `dbt run` that built a staging base model or the rejected_rows mart, so that a
    scheduled run's log says what was set aside without anyone querying marts.rejected_rows.
    Only table names, reason codes and counts are printed, never row values (they hold emails).
-#}
{% macro report_rejected_rows(results) -%}
    {%- if not execute or flags.WHICH not in ('build', 'run') -%}{{ return('') }}{%- endif -%}
    {%- set built = {} -%}
    {%- for result in results
        if result.status == 'success' and result.node.resource_type == 'model'
        and (result.node.name == 'rejected_rows' or result.node.name.startswith('base_shop__')) -%}
        {%- do built.update({result.node.name: result.node.relation_name}) -%}
    {%- endfor -%}
    {%- if not built -%}{{ return('') }}{%- endif -%}

    {%- set counts = [] -%}
    {%- if 'rejected_rows' in built -%}
        {%- set tables = graph.sources.values() | selectattr('source_name', 'equalto', 'shop')
            | map(attribute='name') | sort -%}
        {%- do counts.append('select source_table, rejection_reason, count(*) as n_rows from '
            ~ built['rejected_rows'] ~ ' group by 1, 2') -%}
    {%- else -%}
        {%- set tables = [] -%}
        {%- for name, relation_name in built.items() | sort -%}
            {%- set table_name = name.replace('base_shop__', '') -%}
            {%- do tables.append(table_name) -%}
            {%- do counts.append("select '" ~ table_name ~ "' as source_table, rejection_reason, count(*) as n_rows from "
                ~ relation_name ~ ' where rejection_reason is not null group by 1, 2') -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set rows = run_query('select * from (' ~ counts | join(' union all ') ~ ') as counts order by 1, 3 desc, 2').rows -%}

    {%- if rows | length == 0 -%}
        {%- do log('rejected rows: no rejected rows (' ~ tables | join(', ') ~ ')', info=true) -%}
    {%- else -%}
        {%- set by_table = {} -%}
        {%- for row in rows -%}
            {%- do by_table.setdefault(row[0], []).append(row[1] ~ ' ' ~ row[2]) -%}
        {%- endfor -%}
        {%- for table_name in tables -%}
            {%- do log('rejected rows: ' ~ table_name ~ ': '
                ~ (by_table[table_name] | join(', ') if table_name in by_table else 'none'), info=true) -%}
        {%- endfor -%}
        {%- do log('rejected rows: the rows and their values are in marts.rejected_rows; reason codes in seeds/rejection_reasons.csv', info=true) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
