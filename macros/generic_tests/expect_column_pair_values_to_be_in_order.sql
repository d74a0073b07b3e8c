{#- Fails with the rows where column_A > column_B, or where one is null and the other is not (for
    example the ends of a prediction interval: low <= high, both present or both absent). -#}
{% test expect_column_pair_values_to_be_in_order(model, column_A, column_B, column_name=none) %}
select *
from {{ model }}
where ({{ column_A }} is null) <> ({{ column_B }} is null)
    or {{ column_A }} > {{ column_B }}
{% endtest %}
