{#- Fails with one row per problem when the table's intervals (one per row) do not cover the whole
    line exactly once: sorted by lower bound, the first has no lower bound, the last no upper
    bound, each upper bound is the next lower bound and belongs to exactly one of the two (its
    *_inclusive flags), no interval is empty, every bound has its flag. Used on the tier seeds
    (seeds/clv_tiers.csv, seeds/aov_tiers.csv): every value then lands in exactly one tier. -#}
{% test expect_intervals_to_cover_without_gaps_or_overlaps(model, lower_bound, upper_bound, lower_inclusive, upper_inclusive) %}
with

intervals as (
    select
        {{ lower_bound }} as lower_bound,
        {{ upper_bound }} as upper_bound,
        {{ lower_inclusive }} as lower_inclusive,
        {{ upper_inclusive }} as upper_inclusive,
        row_number() over (
            order by case when {{ lower_bound }} is null then 0 else 1 end, {{ lower_bound }}, {{ upper_bound }}
        ) as position,
        count(*) over () as n_intervals
    from {{ model }}
),

ordered as (
    select
        intervals.*,
        lead(lower_bound) over (order by position) as next_lower_bound,
        lead(lower_inclusive) over (order by position) as next_lower_inclusive
    from intervals
),

problems as (
    select position, 'the first interval must have no lower bound' as problem
    from ordered
    where position = 1 and lower_bound is not null
    union all
    select position, 'only the first interval may have no lower bound'
    from ordered
    where position > 1 and lower_bound is null
    union all
    select position, 'only the last interval may have no upper bound'
    from ordered
    where position < n_intervals and upper_bound is null
    union all
    select position, 'the last interval must have no upper bound'
    from ordered
    where position = n_intervals and upper_bound is not null
    union all
    select position, 'gap or overlap: the upper bound is not the next lower bound'
    from ordered
    where position < n_intervals and upper_bound <> next_lower_bound
    union all
    select position, 'overlap: the shared bound belongs to both intervals'
    from ordered
    where position < n_intervals and upper_bound = next_lower_bound
        and upper_inclusive and next_lower_inclusive
    union all
    select position, 'gap: the shared bound belongs to neither interval'
    from ordered
    where position < n_intervals and upper_bound = next_lower_bound
        and not upper_inclusive and not next_lower_inclusive
    union all
    select position, 'empty interval: lower bound above upper bound, or equal and not both inclusive'
    from ordered
    where lower_bound > upper_bound
        or (lower_bound = upper_bound and not (lower_inclusive and upper_inclusive))
    union all
    select position, 'a bound without its inclusive flag'
    from ordered
    where (lower_bound is not null and lower_inclusive is null)
        or (upper_bound is not null and upper_inclusive is null)
)

select * from problems
{% endtest %}
