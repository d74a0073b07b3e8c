{#- Fails with the segments whose member count (`column_name`, e.g. segment_summary.members)
    differs from the rows of `memberships` (one row per segment and customer), and, with
    `emailable_column`, whose emailable count differs from the members flagged is_emailable. -#}
{% test expect_segment_sizes_to_match_memberships(model, column_name, memberships, emailable_column=none) %}
with

counted as (
    select
        segment_name,
        count(*) as n_members,
        sum(case when is_emailable then 1 else 0 end) as n_emailable
    from {{ memberships }}
    group by 1
)

select
    summary.segment_name,
    summary.{{ column_name }} as summary_members,
    coalesce(counted.n_members, 0) as membership_rows
from {{ model }} as summary
left join counted
    on summary.segment_name = counted.segment_name
where summary.{{ column_name }} <> coalesce(counted.n_members, 0)
    {% if emailable_column %}
    or summary.{{ emailable_column }} <> coalesce(counted.n_emailable, 0)
    {% endif %}
{% endtest %}
