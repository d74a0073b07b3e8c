{#- A model's column rules in one data test and one scan: not_null (a list of columns),
    accepted_values (column: values) and between (column: {min_value, max_value, strictly}).
    Fails with one row per broken rule: column_name, rule, failing_rows. Nulls pass
    accepted_values and between, as dbt's accepted_values and expect_column_values_to_be_between
    let them (not_null is the rule for nulls). Keys (unique with not_null), relationships and
    rules with a row condition, a `where` or a warn severity stay tests of their own
    (DECISIONLOG "A model's column rules are one test"). Bad arguments stop dbt's parse; dbt's
    message names the test and its YAML file, ours the argument, the column and the value (the
    `model` a test sees while dbt parses is a placeholder, so the message does not print it). -#}
{% test expect_column_rules(model, not_null=none, accepted_values=none, between=none) %}
{%- set checks = [] -%}
{%- for column in not_null or [] -%}
    {%- do checks.append((column, 'not_null', column ~ ' is null')) -%}
{%- endfor -%}
{%- for column, values in (accepted_values or {}).items() -%}
    {%- if values is string or values is mapping or not values -%}
        {{ exceptions.raise_compiler_error(
            "expect_column_rules: accepted_values of column " ~ column
            ~ " must be a non-empty list of values, got " ~ values) }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append("'" ~ (value | replace("'", "''")) ~ "'" if value is string else value) -%}
    {%- endfor -%}
    {%- do checks.append((
        column,
        'accepted_values (' ~ (values | join(', ')) ~ ')',
        column ~ ' is not null and ' ~ column ~ ' not in (' ~ (literals | join(', ')) ~ ')'
    )) -%}
{%- endfor -%}
{%- for column, bounds in (between or {}).items() -%}
    {%- set unknown = bounds.keys() | reject('in', ['min_value', 'max_value', 'strictly']) | list if bounds is mapping else ['?'] -%}
    {%- if unknown or (bounds.get('min_value') is none and bounds.get('max_value') is none) -%}
        {{ exceptions.raise_compiler_error(
            "expect_column_rules: between of column " ~ column
            ~ " takes min_value and/or max_value and strictly, got " ~ bounds) }}
    {%- endif -%}
    {%- set lower_op = '>' if bounds.get('strictly') else '>=' -%}
    {%- set upper_op = '<' if bounds.get('strictly') else '<=' -%}
    {%- set bounds_text = [] -%}
    {%- if bounds.get('min_value') is not none -%}{%- do bounds_text.append(lower_op ~ ' ' ~ bounds.get('min_value')) -%}{%- endif -%}
    {%- if bounds.get('max_value') is not none -%}{%- do bounds_text.append(upper_op ~ ' ' ~ bounds.get('max_value')) -%}{%- endif -%}
    {%- set inside = [] -%}
    {%- for bound in bounds_text -%}{%- do inside.append(column ~ ' ' ~ bound) -%}{%- endfor -%}
    {%- do checks.append((
        column,
        'between (' ~ (bounds_text | join(' and ')) ~ ')',
        column ~ ' is not null and not (' ~ (inside | join(' and ')) ~ ')'
    )) -%}
{%- endfor -%}
{%- if not checks -%}
    {{ exceptions.raise_compiler_error("expect_column_rules: no rule given (not_null, accepted_values, between)") }}
{%- endif -%}
with failing as (
    select
    {%- for column, rule, condition in checks %}
        sum(case when {{ condition }} then 1 else 0 end) as rule_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{% for column, rule, condition in checks -%}
select
    '{{ column }}' as column_name,
    '{{ rule | replace("'", "''") }}' as rule,
    rule_{{ loop.index }} as failing_rows
from failing
where rule_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif -%}
{%- endfor %}
{% endtest %}
