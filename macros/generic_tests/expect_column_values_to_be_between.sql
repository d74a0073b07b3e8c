{#- Fails with the rows whose value lies outside [min_value, max_value] (either bound optional;
    strictly=true excludes the bounds). Nulls are not checked (use not_null for that). -#}
{% test expect_column_values_to_be_between(model, column_name, min_value=none, max_value=none, strictly=false, row_condition=none) %}
{%- set lower_op = '>' if strictly else '>=' -%}
{%- set upper_op = '<' if strictly else '<=' -%}
select *
from {{ model }}
where {{ column_name }} is not null
    {% if row_condition %}and ({{ row_condition }}){% endif %}
    and not (
        1 = 1
        {% if min_value is not none %}and {{ column_name }} {{ lower_op }} {{ min_value }}{% endif %}
        {% if max_value is not none %}and {{ column_name }} {{ upper_op }} {{ max_value }}{% endif %}
    )
{% endtest %}
