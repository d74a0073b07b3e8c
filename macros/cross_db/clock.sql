{#-
    The one clock. Every time rule of the project is relative to the var `as_of_date`
    (YYYY-MM-DD; default: the UTC date the dbt invocation started). No model calls current_date.
-#}

{#- The as-of date as a Python string 'YYYY-MM-DD' (validated). -#}
{% macro as_of_date_string() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or (value | string | trim) in ('', 'None', 'null', 'today') -%}
        {{- return(run_started_at.strftime('%Y-%m-%d')) -}}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error("var as_of_date = '" ~ value ~ "' is not a date: use YYYY-MM-DD (or leave it unset for today).") }}
    {%- endif -%}
    {#- a real calendar date: month 1-12 and a day that month has (leap years included) -#}
    {%- set year, month, day = value.split('-') | map('int') | list -%}
    {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
    {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- if year < 1 or month < 1 or month > 12 or day < 1 or day > month_days[month - 1] -%}
        {{ exceptions.raise_compiler_error("var as_of_date = '" ~ value ~ "' is not a calendar date: "
            ~ "the month must be 01 to 12 and the day must exist in that month (YYYY-MM-DD).") }}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{#- The as-of date as a SQL date literal. -#}
{% macro as_of_date() -%}
    cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}

{#- The CLV backtest's calibration clock, as_of_date - clv_backtest_days, as a SQL date literal:
    the candidates are fitted on what was known then and scored on the days since. -#}
{% macro calibration_date() -%}
    {%- set as_of = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d') -%}
    {%- set calibration = as_of - modules.datetime.timedelta(days=var('clv_backtest_days') | int) -%}
    cast('{{ calibration.strftime('%Y-%m-%d') }}' as date)
{%- endmacro %}

{#- days_ago(t) = as_of_date minus t's calendar date (UTC), in whole days. "Within the last N days"
    is 0 <= days_ago < N; rows with days_ago < 0 are after the as-of date and not used. `clock`
    (a SQL date expression) replaces the as-of date, for the backtest's calibration clock. -#}
{% macro days_ago(timestamp_expression, clock=none) -%}
    {{ dbt.datediff('cast(' ~ timestamp_expression ~ ' as date)', clock or as_of_date(), 'day') }}
{%- endmacro %}

{#- True when the timestamp's date falls within the last `days` days (0 <= days_ago < days). -#}
{% macro within_last_days(timestamp_expression, days) -%}
    ({{ days_ago(timestamp_expression) }} between 0 and {{ days }} - 1)
{%- endmacro %}
