{#- Fails with the combinations of `column_list` that appear more than once. -#}
{% test expect_compound_columns_to_be_unique(model, column_list) %}
select
    {{ column_list | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {% for column in column_list %}{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1
{% endtest %}
