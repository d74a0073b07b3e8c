{#- The bucket (0 to buckets - 1) of an expression's 64-bit hash: every row of one value lands in
    the same bucket, so a group-by on that value can run bucket by bucket, each holding a share of
    the groups (int_events_aggregated_to_customer_days, var engagement_day_hash_partitions). -#}
{% macro clv_hash_bucket(expression, buckets) -%}
    {{ return(adapter.dispatch('clv_hash_bucket', 'clv_segments')(expression, buckets)) }}
{%- endmacro %}

{% macro default__clv_hash_bucket(expression, buckets) -%}
    (hash({{ expression }}) % {{ buckets }})
{%- endmacro %}

{% macro spark__clv_hash_bucket(expression, buckets) -%}
    pmod(xxhash64({{ expression }}), {{ buckets }})
{%- endmacro %}
