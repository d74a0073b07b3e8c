-- One row per distinct raw event row (exact duplicates collapsed, counted in n_copies), with the
-- reason it is rejected, or null when it is clean.
--
-- Built for the largest raw table (54 M rows at 1 M customers; DECISIONLOG "Staging at scale"):
-- exact duplicates and key conflicts can only occur among rows whose key repeats, so one group-by
-- over the key alone finds those keys, and only their rows (and rows without a key) are grouped
-- over all six columns. Every other row is distinct by construction: it passes through once,
-- with n_copies 1. The file is read three times (the keys; the single rows; the repeated rows),
-- which is cheaper than holding every row in a hash table or a materialized CTE.
{#- typing: the key comes normalised from `keyed`; the raw values are rendered as text only for
    rows with an unparseable value, in the next step, so that the engine cannot hoist the text
    casts out of that condition and render every row (as it did when both sat in one select) -#}
{%- set typed_columns -%}
        event_key as event_id,
        {{ normalize_id('customer_id') }} as customer_id,
        {{ normalize_label('event_type') }} as event_type,
        {{ parse_timestamp_utc('occurred_at') }} as occurred_at,
        nullif(trim(cast(campaign_id as {{ dbt.type_string() }})), '') as campaign_id,
        {{ parse_boolean('is_machine_open') }} as is_machine_open,
        occurred_at as raw_occurred_at,
        is_machine_open as raw_is_machine_open,
        event_id as raw_event_id,
        customer_id as raw_customer_id,
        event_type as raw_event_type,
        campaign_id as raw_campaign_id
{%- endset %}
{%- set raw_values -%}
        {{ raw_row_text(
            ['raw_event_id', 'raw_customer_id', 'raw_event_type', 'raw_occurred_at', 'raw_campaign_id',
             'raw_is_machine_open'],
            when='(raw_occurred_at is not null and occurred_at is null)'
                ~ ' or (raw_is_machine_open is not null and is_machine_open is null)') }}
            as raw_values
{%- endset %}

with

source as {{ inline_cte() }} (
    select * from {{ source('shop', 'events') }}
),

customers as (
    select customer_id from {{ ref('stg_shop__customers') }}
),

event_types as (
    select event_type from {{ ref('event_types') }}
),

-- normalised keys that more than one raw row carries (a few thousand of 54 M at 1 M customers;
-- the missing key too, when several rows lack one)
repeated_keys as (
    select
        {{ normalize_id('event_id') }} as repeated_event_id,
        true as is_repeated
    from source
    group by 1
    having count(*) > 1
),

-- each raw row with its normalised key, marked when that key repeats (those rows are grouped)
keyed as {{ inline_cte() }} (
    select
        source.event_id,
        source.customer_id,
        source.event_type,
        source.occurred_at,
        source.campaign_id,
        source.is_machine_open,
        {{ normalize_id('source.event_id') }} as event_key,
        coalesce(repeated_keys.is_repeated, false) as is_grouped
    from source
    left join repeated_keys
        on
            {{ normalize_id('source.event_id') }} is not distinct from repeated_keys.repeated_event_id
),

-- a key no other row carries: the row is distinct and its key in no conflict
single_rows_typed as (
    select
        {{ typed_columns }}
    from keyed
    where not is_grouped
),

single_rows as (
    select
        event_id,
        customer_id,
        event_type,
        occurred_at,
        campaign_id,
        is_machine_open,
        {{ raw_values }},
        cast(1 as {{ dbt.type_bigint() }}) as n_copies
    from single_rows_typed
),

-- rows whose key repeats: exact duplicates collapse into one row
grouped_rows_typed as (
    select
        {{ typed_columns }}
    from keyed
    where is_grouped
),

grouped_rows as (
    select
        event_id,
        customer_id,
        event_type,
        occurred_at,
        campaign_id,
        is_machine_open,
        {{ raw_values }}
    from grouped_rows_typed
),

collapsed_rows as (
    select
        event_id,
        customer_id,
        event_type,
        occurred_at,
        campaign_id,
        is_machine_open,
        min(raw_values) as raw_values,
        count(*) as n_copies
    from grouped_rows
    group by 1, 2, 3, 4, 5, 6
),

-- keys that more than one distinct row claims
conflicting_keys as (
    select event_id
    from collapsed_rows
    where event_id is not null
    group by 1
    having count(*) > 1
),

distinct_rows as (
    select
        single_rows.event_id,
        single_rows.customer_id,
        single_rows.event_type,
        single_rows.occurred_at,
        single_rows.campaign_id,
        single_rows.is_machine_open,
        single_rows.n_copies,
        single_rows.raw_values,
        false as has_conflicting_key
    from single_rows
    union all
    select
        collapsed_rows.event_id,
        collapsed_rows.customer_id,
        collapsed_rows.event_type,
        collapsed_rows.occurred_at,
        collapsed_rows.campaign_id,
        collapsed_rows.is_machine_open,
        collapsed_rows.n_copies,
        collapsed_rows.raw_values,
        conflicting_keys.event_id is not null as has_conflicting_key
    from collapsed_rows
    left join conflicting_keys
        on collapsed_rows.event_id = conflicting_keys.event_id
),

final as (
    select
        distinct_rows.event_id,
        distinct_rows.customer_id,
        distinct_rows.event_type,
        distinct_rows.occurred_at,
        distinct_rows.campaign_id,
        distinct_rows.is_machine_open,
        distinct_rows.n_copies,
        distinct_rows.raw_values,
        case
            when distinct_rows.event_id is null then 'missing_key'
            when distinct_rows.has_conflicting_key then 'duplicate_key_conflict'
            when distinct_rows.customer_id is null then 'missing_customer_id'
            when event_types.event_type is null then 'unknown_event_type'
            when distinct_rows.occurred_at is null then 'unparseable_timestamp'
            when {{ days_ago('distinct_rows.occurred_at') }} < 0
                then 'after_as_of_date'
            when customers.customer_id is null then 'unknown_customer'
        end as rejection_reason
    from distinct_rows
    left join event_types
        on distinct_rows.event_type = event_types.event_type
    left join customers
        on distinct_rows.customer_id = customers.customer_id
)

select * from final
