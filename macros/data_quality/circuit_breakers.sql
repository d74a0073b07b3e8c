{#- The pieces the two circuit-breaker marts share (README "Circuit breakers"):
    input_circuit_breakers audits the raw input right after staging, circuit_breakers adds the
    checks on what the build computed from it. Each returns SQL for a model's CTE. -#}

{% macro input_figures() -%}
    {#- The figures of the raw input (figure, subject, value): raw, clean and rejected rows per
        raw table, valid orders for the shop. marts.run_figures holds them with the rest. -#}
    select
        'raw_rows' as figure,
        source_table as subject,
        accounted_rows as value
    from {{ ref('raw_row_reconciliation') }}
    union all
    select
        'clean_rows' as figure,
        source_table as subject,
        clean_rows as value
    from {{ ref('raw_row_reconciliation') }}
    union all
    select
        'rejected_rows' as figure,
        source_table as subject,
        rejected_rows as value
    from {{ ref('raw_row_reconciliation') }}
    union all
    select
        'valid_orders' as figure,
        'all' as subject,
        count(*) as value
    from {{ ref('int_orders_netted') }}
    where is_valid_order
{%- endmacro %}

{% macro previous_published_figures() -%}
    {#- The figures of the last published run (figure, subject, value), from the published
        history copied into the candidate. -#}
    select
        published_figures.figure,
        published_figures.subject,
        published_figures.value
    from {{ source('published_history', 'run_figures_history') }} as published_figures
    inner join (
        select max(as_of_date) as as_of_date
        from {{ source('published_history', 'run_figures_history') }}
    ) as last_published
        on published_figures.as_of_date = last_published.as_of_date
{%- endmacro %}

{% macro breaker_drops(figures, previous_figures, figure_names) -%}
    {#- The drop check of each figure named in figure_names that the last published run had:
        its relative fall since then against var breaker_max_drop_share. figures and
        previous_figures name CTEs of (figure, subject, value). -#}
    select
        'drop' as check_name,
        {{ dbt.concat([figures ~ ".figure", "':'", figures ~ ".subject"]) }} as subject,
        ({{ previous_figures }}.value - {{ figures }}.value) / {{ previous_figures }}.value
            as figure_value,
        {{ previous_figures }}.value as previous_value,
        cast({{ var('breaker_max_drop_share') }} as {{ type_double() }}) as threshold,
        'breaker_max_drop_share' as var_name,
        ({{ previous_figures }}.value - {{ figures }}.value) / {{ previous_figures }}.value
        > {{ var('breaker_max_drop_share') }}
            as is_breach,
        {{ dbt.concat([
            "'marts.run_figures against history.run_figures_history (was '",
            "cast(" ~ previous_figures ~ ".value as " ~ dbt.type_string() ~ ")",
            "', now '",
            "cast(" ~ figures ~ ".value as " ~ dbt.type_string() ~ ")",
            "')'",
        ]) }} as look_at
    from {{ figures }}
    inner join {{ previous_figures }}
        on
            {{ figures }}.figure = {{ previous_figures }}.figure
            and {{ figures }}.subject = {{ previous_figures }}.subject
    where
        {{ figures }}.figure in ({{ clv_sql_list(figure_names) }})
        and {{ previous_figures }}.value > 0
{%- endmacro %}

{% macro breaker_columns(checks) -%}
    {#- The breakers' public columns from the CTE ``checks``: typed, with is_accepted set for a
        breach the var accept_breakers names ('check' or 'check:subject'). -#}
    {%- set accepted = var('accept_breakers') or [] %}
    select
        cast(check_name as {{ dbt.type_string() }}) as check_name,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(figure_value as {{ type_double() }}) as figure_value,
        cast(previous_value as {{ type_double() }}) as previous_value,
        threshold,
        cast(var_name as {{ dbt.type_string() }}) as var_name,
        coalesce(is_breach, false) as is_breach,
        coalesce(is_breach, false) and (
            check_name in ({{ clv_sql_list(accepted) }})
            or {{ dbt.concat(["check_name", "':'", "subject"]) }} in ({{ clv_sql_list(accepted) }})
        ) as is_accepted,
        cast(look_at as {{ dbt.type_string() }}) as look_at,
        {{ as_of_date() }} as as_of_date
    from {{ checks }}
{%- endmacro %}
