-- One row per segment of the catalog, with or without members: member and emailable counts, the
-- CLV attributes its definition uses, its share of historic revenue, historic and predicted CLV
-- totals, and when its membership last changed (seed 002's "segments using CLV" card).
with

catalog as (
    select
        segment_name,
        segment_kind,
        description,
        clv_attributes_used,
        catalog_position
    from {{ ref('int_segments_compiled') }}
),

memberships as (
    select
        segment_name,
        customer_id,
        is_emailable
    from {{ ref('customer_segments') }}
),

customer_values as (
    select
        customer_id,
        historic_clv,
        predicted_clv
    from {{ ref('int_customers_joined_to_attributes') }}
),

changes as (
    select
        segment_name,
        max(changed_at) as membership_last_changed_at
    from {{ ref('segment_membership_changes') }}
    group by 1
),

all_customers as (
    select sum(historic_clv) as historic_clv_total
    from customer_values
),

segment_values as (
    select
        memberships.segment_name,
        count(*) as members,
        sum(case when memberships.is_emailable then 1 else 0 end) as emailable_members,
        sum(customer_values.historic_clv) as historic_clv_total,
        sum(customer_values.predicted_clv) as predicted_clv_total
    from memberships
    inner join customer_values
        on memberships.customer_id = customer_values.customer_id
    group by 1
),

final as (
    select
        catalog.segment_name,
        catalog.segment_kind,
        catalog.description,
        catalog.catalog_position,
        cast(coalesce(segment_values.members, 0) as {{ dbt.type_bigint() }}) as members,
        cast(coalesce(segment_values.emailable_members, 0) as {{ dbt.type_bigint() }})
            as emailable_members,
        catalog.clv_attributes_used,
        cast(
            cast(coalesce(segment_values.historic_clv_total, 0) as {{ type_double() }})
            / nullif(cast(all_customers.historic_clv_total as {{ type_double() }}), 0)
            as {{ type_double() }}
        ) as revenue_share,
        cast(coalesce(segment_values.historic_clv_total, 0) as {{ type_money() }})
            as historic_clv_total,
        -- null when no member has a prediction (model not ready), 0 for a segment without members
        cast(
            case
                when segment_values.segment_name is null then 0 else
                    segment_values.predicted_clv_total
            end
            as {{ type_money() }}
        ) as predicted_clv_total,
        changes.membership_last_changed_at,
        {{ as_of_date() }} as as_of_date
    from catalog
    cross join all_customers
    left join segment_values
        on catalog.segment_name = segment_values.segment_name
    left join changes
        on catalog.segment_name = changes.segment_name
)

select * from final
