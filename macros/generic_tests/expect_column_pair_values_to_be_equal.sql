{#- Fails with the rows where column_A differs from column_B by more than `tolerance`
    (for example total_clv = historic_clv + predicted_clv within a cent). Nulls on both sides agree. -#}
{% test expect_column_pair_values_to_be_equal(model, column_A, column_B, tolerance=0, row_condition=none, column_name=none) %}
select *
from {{ model }}
where (
        ({{ column_A }} is null) <> ({{ column_B }} is null)
        or abs({{ column_A }} - ({{ column_B }})) > {{ tolerance }}
    )
    {% if row_condition %}and ({{ row_condition }}){% endif %}
{% endtest %}
