-- One row per customer with a valid order: Klaviyo's RFM report (DESIGN.md "RFM groups"): the
-- scores, the RFM string and group, and from the RFM history (history.rfm_group_history) the
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
        as_of_date,
        customer_id,
        rfm_group
    from {{ ref('rfm_group_history') }}
),

-- the change log holds a row only when the group changes: the latest row is the current group,
-- the one before it the previous different group
stints_back as (
    select
        customer_id,
        rfm_group,
        as_of_date,
        row_number() over (partition by customer_id order by as_of_date desc) as stints_back
    from rfm_history
),

current_stints as (
    select
        customer_id,
        rfm_group,
        as_of_date as entered_on
    from stints_back
    where stints_back = 1
),

earlier_other_groups as (
    select
        customer_id,
        rfm_group
    from stints_back
    where stints_back = 2
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
        cast(current_stints.entered_on as {{ api.Column.translate_type('timestamp') }})
            as rfm_group_changed_at,
        {{ as_of_date() }} as as_of_date
    from scores
    left join current_stints
        on
            scores.customer_id = current_stints.customer_id
            and scores.rfm_group = current_stints.rfm_group
    left join earlier_other_groups
        on
            scores.customer_id = earlier_other_groups.customer_id
            and current_stints.customer_id is not null
)

select * from final
