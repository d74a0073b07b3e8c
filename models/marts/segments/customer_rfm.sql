-- One row per customer with a valid order: Klaviyo's RFM report (DESIGN.md "RFM groups"): the
-- scores, the RFM string and group, and from the RFM history (snapshot rfm_group_snapshot) the
-- previous different group and when the customer entered the current one.
with

scores as (
    select
        customer_id,
        recency_score,
        frequency_score,
        monetary_score,
        rfm_score,
        rfm_group
    from {{ ref('int_customers_rfm_scored') }}
),

rfm_history as (
    select
        customer_id,
        rfm_group,
        dbt_valid_from,
        dbt_valid_to
    from {{ ref('rfm_group_snapshot') }}
),

current_stints as (
    select
        customer_id,
        rfm_group,
        dbt_valid_from as entered_at
    from rfm_history
    where dbt_valid_to is null
),

earlier_other_groups as (
    select
        rfm_history.customer_id,
        rfm_history.rfm_group,
        row_number() over (
            partition by rfm_history.customer_id
            order by rfm_history.dbt_valid_from desc
        ) as stints_back
    from rfm_history
    inner join scores
        on rfm_history.customer_id = scores.customer_id
    where rfm_history.dbt_valid_to is not null
        and rfm_history.rfm_group <> scores.rfm_group
),

final as (
    select
        scores.customer_id,
        cast(scores.recency_score as {{ dbt.type_int() }}) as recency_score,
        cast(scores.frequency_score as {{ dbt.type_int() }}) as frequency_score,
        cast(scores.monetary_score as {{ dbt.type_int() }}) as monetary_score,
        scores.rfm_score,
        scores.rfm_group,
        earlier_other_groups.rfm_group as previous_rfm_group,
        current_stints.entered_at as rfm_group_changed_at,
        {{ as_of_date() }} as as_of_date
    from scores
    left join current_stints
        on scores.customer_id = current_stints.customer_id
        and scores.rfm_group = current_stints.rfm_group
    left join earlier_other_groups
        on scores.customer_id = earlier_other_groups.customer_id
        and earlier_other_groups.stints_back = 1
)

select * from final
