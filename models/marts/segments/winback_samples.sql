-- One row per win-back segment and sampled customer: the deterministic samples seed 004 tests
-- win-back campaigns on. Per segment of the var winback_sample_shares (fleeting_fans 50 %,
-- drive_by_customers 25 %, false_starts 10 %) the sample holds that share of the segment's
-- emailable members, rounded up, or winback_min_members (1000), whichever is larger, never more
-- than the emailable members. Members are ranked by a hash of customer_id salted with the var
-- winback_seed, so reruns pick the same people.
{%- set shares = winback_sample_shares() %}
with

memberships as (
    select
        segment_name,
        customer_id,
        is_emailable
    from {{ ref('customer_segments') }}
    where is_emailable
),

shares as (
    {%- for name, share in shares.items() %}
    select
        '{{ name }}' as segment_name,
        cast({{ share }} as decimal(9, 6)) as sample_share
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as segment_name,
        cast(null as decimal(9, 6)) as sample_share
    where 1 = 0
    {%- endfor %}
),

ranked as (
    select
        memberships.segment_name,
        memberships.customer_id,
        memberships.is_emailable,
        shares.sample_share,
        count(*) over (partition by memberships.segment_name) as emailable_members,
        row_number() over (
            partition by memberships.segment_name
            order by
                {{ dbt.hash(dbt.concat(['memberships.customer_id', "'|" ~ var('winback_seed') ~ "'"])) }},
                memberships.customer_id
        ) as sample_rank
    from memberships
    inner join shares
        on memberships.segment_name = shares.segment_name
),

sized as (
    select
        ranked.*,
        case
            when emailable_members < {{ var('winback_min_members') }} then emailable_members
            else cast(
                case
                    when ceil(sample_share * emailable_members) > {{ var('winback_min_members') }}
                        then ceil(sample_share * emailable_members)
                    else {{ var('winback_min_members') }}
                end
                as {{ dbt.type_bigint() }}
            )
        end as sample_size
    from ranked
),

final as (
    select
        segment_name,
        customer_id,
        is_emailable,
        cast(sample_share as {{ type_double() }}) as sample_share,
        cast(emailable_members as {{ dbt.type_bigint() }}) as emailable_members,
        cast(sample_size as {{ dbt.type_bigint() }}) as sample_size,
        cast(sample_rank as {{ dbt.type_bigint() }}) as sample_rank,
        {{ as_of_date() }} as as_of_date
    from sized
    where sample_rank <= sample_size
)

select * from final
