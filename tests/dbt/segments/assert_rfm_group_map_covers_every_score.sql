-- Every R-F-M string (scores 1 to 3 each: 27 combinations) has a group in seeds/rfm_groups.csv.
-- Fails with the strings that have none.
with

scores as (
    select 1 as score
    union all
    select 2 as score
    union all
    select 3 as score
),

combinations as (
    select
        {{ dbt.concat([
            'cast(recency.score as ' ~ dbt.type_string() ~ ')',
            'cast(frequency.score as ' ~ dbt.type_string() ~ ')',
            'cast(monetary.score as ' ~ dbt.type_string() ~ ')',
        ]) }} as rfm_score
    from scores as recency
    cross join scores as frequency
    cross join scores as monetary
),

rfm_groups as (
    select rfm_score from {{ ref('rfm_groups') }}
)

select combinations.rfm_score
from combinations
left join rfm_groups
    on combinations.rfm_score = rfm_groups.rfm_score
where rfm_groups.rfm_score is null
