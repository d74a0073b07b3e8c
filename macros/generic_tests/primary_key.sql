{#- Fails with the key values that are null or held by more than one row (n_rows): `unique` and
    `not_null` on a model's grain in one test and one scan, as dbt_constraints' primary_key
    (DECISIONLOG "A model's column rules are one test"). -#}
{% test primary_key(model, column_name) %}
select
    {{ column_name }} as key_value,
    count(*) as n_rows
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
