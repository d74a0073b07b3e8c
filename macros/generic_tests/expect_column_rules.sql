{#- A model's column rules in one data test: not_null (a list of columns), accepted_values
    (column: values) and between (column: {min_value, max_value, strictly}) in one pass over the
    rows that break any of them (a filter DuckDB checks against its statistics first, so a table
    that breaks none is barely read), and references (column: {to, field}, dbt's relationships)
    in one anti-join each.
    Fails with one row per broken rule: column_name, rule, failing_rows. Nulls pass
    accepted_values, between and references, as dbt's tests of those names let them (not_null is
    the rule for nulls). Keys (unique with not_null) and rules with a row condition, a `where` or
    a warn severity stay tests of their own, and so does a reference to a model built after the
    tested one (DECISIONLOG "A model's column rules are one test"). Bad arguments stop dbt's
    parse; dbt's message names the test and its YAML file, ours the argument, the column and the
    value (the `model` a test sees while dbt parses is a placeholder, so the message does not print
    it). -#}
{% test expect_column_rules(model, not_null=none, accepted_values=none, between=none, references=none) %}
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
{%- set references_checked = [] -%}
{%- for column, reference in (references or {}).items() -%}
    {%- if reference is not mapping or reference.get('to') is none or not reference.get('field')
          or (reference.keys() | reject('in', ['to', 'field']) | list) -%}
        {{ exceptions.raise_compiler_error(
            "expect_column_rules: references of column " ~ column
            ~ " takes to (a ref or source) and field, got " ~ reference) }}
    {%- endif -%}
    {%- do references_checked.append((column, reference['to'], reference['field'])) -%}
{%- endfor -%}
{%- if not checks and not references_checked -%}
    {{ exceptions.raise_compiler_error("expect_column_rules: no rule given (not_null, accepted_values, between, references)") }}
{%- endif -%}
{%- set broken = [] -%}
with
{%- if checks %}
failing as (
    select
    {%- for column, rule, condition in checks %}
        sum(case when {{ condition }} then 1 else 0 end) as rule_{{ loop.index }}{{ ',' if not loop.last }}
        {%- do broken.append((column, rule, 'rule_' ~ loop.index, 'failing')) -%}
    {%- endfor %}
    from {{ model }}
    -- only the rows that break a rule: DuckDB skips the row groups its statistics rule out
    where {% for column, rule, condition in checks %}({{ condition }}){{ ' or ' if not loop.last }}{% endfor %}
){{ ',' if references_checked }}
{%- endif %}
{%- for column, to, field in references_checked %}
reference_{{ loop.index }} as (
    select count(*) as failing_rows
    from {{ model }} as child
    left join (select {{ field }} as parent_key from {{ to }}) as parent
        on child.{{ column }} = parent.parent_key
    where child.{{ column }} is not null and parent.parent_key is null
){{ ',' if not loop.last }}
    {%- do broken.append((column, 'references ' ~ (to.identifier or to) ~ '.' ~ field, 'failing_rows', 'reference_' ~ loop.index)) -%}
{%- endfor %}
{% for column, rule, count, source in broken -%}
select
    '{{ column }}' as column_name,
    '{{ rule | replace("'", "''") }}' as rule,
    {{ count }} as failing_rows
from {{ source }}
where {{ count }} > 0
{% if not loop.last %}union all
{% endif -%}
{%- endfor %}
{% endtest %}
