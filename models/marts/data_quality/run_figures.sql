-- One row per figure and subject of this build: the numbers the circuit breakers compare with the
-- last published run (the input's, from the macro input_figures: raw, clean and rejected rows per
-- raw table, valid orders; then customers with a valid order, total historic CLV; whether the
-- CLV model is ready; members, entries and exits per segment). Subject 'all' for figures of the
-- whole shop. history.run_figures_history keeps them per published as-of date.
with

input_figures as (
    {{ input_figures() }}
),

customer_history as (
    select
        sum(case when has_valid_order then 1 else 0 end) as customers_with_valid_order,
        coalesce(sum(historic_clv), 0) as total_historic_clv
    from {{ ref('int_orders_aggregated_to_customers') }}
),

readiness as (
    select min(case when passed then 1 else 0 end) as is_clv_ready
    from {{ ref('int_clv_readiness_checked') }}
),

catalog as (
    select segment_name
    from {{ ref('int_segments_compiled') }}
),

members as (
    select
        segment_name,
        count(*) as segment_members
    from {{ ref('int_customers_segmented') }}
    group by 1
),

changes as (
    select
        segment_name,
        sum(case when change_type = 'entered' then 1 else 0 end) as segment_entered,
        sum(case when change_type = 'left' then 1 else 0 end) as segment_left
    from {{ ref('segment_membership_history') }}
    where as_of_date = {{ as_of_date() }}
    group by 1
),

segment_figures as (
    select
        catalog.segment_name,
        coalesce(members.segment_members, 0) as segment_members,
        coalesce(changes.segment_entered, 0) as segment_entered,
        coalesce(changes.segment_left, 0) as segment_left
    from catalog
    left join members
        on catalog.segment_name = members.segment_name
    left join changes
        on catalog.segment_name = changes.segment_name
),

figures as (
    select
        figure,
        subject,
        value
    from input_figures
    union all
    select
        'customers_with_valid_order' as figure,
        'all' as subject,
        customers_with_valid_order
    from customer_history
    union all
    select
        'total_historic_clv' as figure,
        'all' as subject,
        total_historic_clv
    from customer_history
    union all
    select
        'is_clv_ready' as figure,
        'all' as subject,
        is_clv_ready
    from readiness
    union all
    select
        'segment_members' as figure,
        segment_name,
        segment_members
    from segment_figures
    union all
    select
        'segment_entered' as figure,
        segment_name,
        segment_entered
    from segment_figures
    union all
    select
        'segment_left' as figure,
        segment_name,
        segment_left
    from segment_figures
),

final as (
    select
        cast(figure as {{ dbt.type_string() }}) as figure,
        cast(subject as {{ dbt.type_string() }}) as subject,
        cast(value as {{ type_double() }}) as value,
        {{ as_of_date() }} as as_of_date
    from figures
)

select * from final
