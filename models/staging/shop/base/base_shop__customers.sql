-- One row per distinct raw customer row (exact duplicates collapsed, counted in n_copies), with the
-- reason it is rejected, or null when it is clean.
with

source as (
    select * from {{ source('shop', 'customers') }}
),

typed as (
    select
        {{ normalize_id('customer_id') }} as customer_id,
        nullif(lower(trim(email)), '') as email,
        {{ parse_timestamp_utc('created_at') }} as created_at,
        upper(nullif(trim(country_code), '')) as country_code,
        nullif(trim(region), '') as region,
        nullif(trim(city), '') as city,
        {{ parse_boolean('accepts_marketing') }} as accepts_marketing,
        {{ raw_row_text(['customer_id', 'email', 'created_at', 'country_code', 'region', 'city', 'accepts_marketing'],
            when=unparseable('created_at', parse_timestamp_utc('created_at'))
                ~ ' or ' ~ unparseable('accepts_marketing', parse_boolean('accepts_marketing'))) }}
            as raw_values
    from source
),

collapsed as (
    select
        customer_id,
        email,
        created_at,
        country_code,
        region,
        city,
        accepts_marketing,
        count(*) as n_copies,
        min(raw_values) as raw_values
    from typed
    group by 1, 2, 3, 4, 5, 6, 7
),

-- keys that more than one distinct row claims (a group-by, cheaper than a window at scale)
conflicting_keys as (
    select customer_id
    from collapsed
    where customer_id is not null
    group by 1
    having count(*) > 1
),

checked as (
    select
        collapsed.*,
        conflicting_keys.customer_id is not null as has_conflicting_key
    from collapsed
    left join conflicting_keys
        on collapsed.customer_id = conflicting_keys.customer_id
),

final as (
    select
        customer_id,
        email,
        created_at,
        country_code,
        region,
        city,
        accepts_marketing,
        n_copies,
        raw_values,
        case
            when customer_id is null then 'missing_key'
            when has_conflicting_key then 'duplicate_key_conflict'
            when created_at is null then 'unparseable_timestamp'
            when {{ days_ago('created_at') }} < 0
                then 'after_as_of_date'
        end as rejection_reason
    from checked
)

select * from final
