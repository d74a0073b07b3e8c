{#-
    Configuration validation, run first at every invocation (on-run-start). Every var is checked for
    type and range; all problems are reported at once, each naming the var, the value and what is
    allowed, and the run stops before any model is built. The tier seeds are checked for gaps and
    overlaps by the tests on the seeds (seeds/_seeds.yml), which run right after seeding.
-#}
{% macro validate_config() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set errors = [] -%}

    {#- whole numbers of days / counts, with a minimum -#}
    {%- set whole_numbers = {
        'clv_history_days': 1, 'clv_prediction_days': 1, 'churn_horizon_days': 1,
        'clv_fit_sample_size': 100, 'clv_fit_seed': 0,
        'clv_min_customers_with_orders': 0, 'clv_min_history_days': 0,
        'clv_max_days_since_last_order': 1, 'clv_min_customers_with_3_orders': 0,
        'recent_purchase_days': 1, 'lapsed_purchase_days': 1, 'frequent_orders': 1,
        'frequent_engagements': 1, 'drive_by_min_days': 0, 'recent_engagement_days': 1,
        'prior_engagement_days': 1, 'espresso_days': 1, 'dead_weight_days': 1,
        'health_window_days': 1, 'winback_min_members': 0, 'incremental_lookback_days': 0,
        'engagement_day_hash_partitions': 1,
        'breaker_min_valid_orders': 0, 'breaker_segment_churn_min_members': 1, 'backfill_step_days': 1,
        'clv_backtest_days': 1, 'clv_backtest_next_order_tolerance_days': 0,
        'clv_backtest_calibration_bands': 1,
        'freshness_warn_days_daily': 1, 'freshness_warn_days_profiles': 1,
        'freshness_warn_days_sparse': 1,
    } -%}
    {%- for name, minimum in whole_numbers.items() -%}
        {%- set value = var(name, none) -%}
        {%- if value is none or value is boolean or not modules.re.match('^-?[0-9]+$', value | string | trim) -%}
            {%- do errors.append("var " ~ name ~ " = " ~ value ~ " is not a whole number (allowed: an integer >= " ~ minimum ~ ")") -%}
        {%- elif (value | int) < minimum -%}
            {%- do errors.append("var " ~ name ~ " = " ~ value ~ " is out of range (allowed: an integer >= " ~ minimum ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}

    {#- numbers in a closed interval -#}
    {%- set bounded = {
        'churn_risk_low_max': [0, 1], 'churn_risk_high_min': [0, 1],
        'guardrail_min_open_rate': [0, 1], 'guardrail_max_unsubscribe_rate': [0, 1],
        'guardrail_max_spam_rate': [0, 1], 'clv_monthly_discount_rate': [0, 1],
        'max_order_amount': [0.01, 1e15],
        'breaker_max_rejected_share': [0, 1], 'breaker_max_drop_share': [0, 1],
        'breaker_max_segment_churn': [0, 1e6],
        'clv_prediction_interval_level': [0.01, 0.99], 'clv_next_order_probability': [0.01, 0.99],
    } -%}
    {%- for name, bounds in bounded.items() -%}
        {%- set value = var(name, none) -%}
        {%- if not clv_is_number(value) -%}
            {%- do errors.append("var " ~ name ~ " = " ~ value ~ " is not a number (allowed: " ~ bounds[0] ~ " to " ~ bounds[1] ~ ")") -%}
        {%- elif (value | float) < bounds[0] or (value | float) > bounds[1] -%}
            {%- do errors.append("var " ~ name ~ " = " ~ value ~ " is out of range (allowed: " ~ bounds[0] ~ " to " ~ bounds[1] ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}

    {#- booleans -#}
    {%- for name in ['include_pos_orders', 'include_subscription_orders', 'include_zero_value_orders',
                     'count_machine_opens', 'normalize_id_case', 'register_raw_files',
                     'breaker_readiness_lost'] -%}
        {%- set value = var(name, none) -%}
        {%- if value is not boolean -%}
            {%- do errors.append("var " ~ name ~ " = " ~ value ~ " is not a boolean (allowed: true or false)") -%}
        {%- endif -%}
    {%- endfor -%}

    {#- choices -#}
    {%- set choices = {
        'clv_time_unit': ['day', 'week'],
        'clv_model': ['auto', 'bgnbd', 'pareto_nbd', 'mbgnbd'],
        'clv_model_fallback': ['bgnbd', 'pareto_nbd', 'mbgnbd'],
        'clv_next_order_date_source': ['auto', 'model', 'average_gap'],
        'clv_tier_basis': ['total', 'historic', 'predicted'],
        'run_kind': ['run', 'backfill'],
    } -%}
    {%- for name, allowed in choices.items() -%}
        {%- set value = var(name, none) -%}
        {%- if value not in allowed -%}
            {%- do errors.append("var " ~ name ~ " = " ~ value ~ " is not allowed (allowed: " ~ allowed | join(', ') ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}

    {%- set currency = var('reporting_currency', none) | string -%}
    {%- if not modules.re.match('^[A-Z]{3}$', currency) -%}
        {%- do errors.append("var reporting_currency = " ~ currency ~ " is not an ISO 4217 code (allowed: three capital letters with rates in seeds/fx_rates.csv)") -%}
    {%- endif -%}

    {%- set high_value_aov = var('high_value_aov', 'auto') -%}
    {%- if high_value_aov != 'auto' and (not clv_is_number(high_value_aov) or (high_value_aov | float) <= 0) -%}
        {%- do errors.append("var high_value_aov = " ~ high_value_aov ~ " is not allowed (allowed: auto, or a number > 0 in the reporting currency)") -%}
    {%- endif -%}

    {%- set penalizers = var('clv_penalizers', none) -%}
    {%- if penalizers is string or penalizers is not iterable or penalizers | length == 0 -%}
        {%- do errors.append("var clv_penalizers = " ~ penalizers ~ " is not allowed (allowed: a non-empty list of numbers >= 0)") -%}
    {%- else -%}
        {%- for value in penalizers if not clv_is_number(value) or (value | float) < 0 -%}
            {%- do errors.append("var clv_penalizers = " ~ penalizers ~ " is not allowed (allowed: a non-empty list of numbers >= 0)") -%}
        {%- endfor -%}
    {%- endif -%}

    {%- set rfm_days = var('rfm_recency_days', none) -%}
    {%- if rfm_days is string or rfm_days is not iterable or rfm_days | length != 2
        or not clv_is_number(rfm_days[0]) or not clv_is_number(rfm_days[1])
        or (rfm_days[0] | int) < 1 or (rfm_days[0] | int) >= (rfm_days[1] | int) -%}
        {%- do errors.append("var rfm_recency_days = " ~ rfm_days ~ " is not allowed (allowed: two increasing whole numbers of days, e.g. [180, 365])") -%}
    {%- endif -%}

    {%- set window = var('backfill_window_days', none) -%}
    {%- if window is not none and (window is boolean or not modules.re.match('^[0-9]+$', window | string | trim) or (window | int) < 1) -%}
        {%- do errors.append("var backfill_window_days = " ~ window ~ " is not allowed (allowed: null for health_window_days, or a whole number of days >= 1)") -%}
    {%- endif -%}

    {%- set accepted = var('accept_breakers', none) -%}
    {%- set breaker_checks = ['rejected_share', 'drop', 'min_valid_orders', 'readiness_lost', 'segment_churn'] -%}
    {%- if accepted is string or accepted is not iterable -%}
        {%- do errors.append("var accept_breakers = " ~ accepted ~ " is not allowed (allowed: a list of 'check' or 'check:subject', checks " ~ breaker_checks | join(', ') ~ ")") -%}
    {%- else -%}
        {%- for value in accepted if (value | string).split(':')[0] not in breaker_checks -%}
            {%- do errors.append("var accept_breakers names '" ~ value ~ "', not a circuit breaker (allowed checks: " ~ breaker_checks | join(', ') ~ ", optionally ':subject')") -%}
        {%- endfor -%}
    {%- endif -%}

    {#- relations between vars (only when both sides are valid numbers) -#}
    {%- set orderings = [
        ('recent_purchase_days', 'lapsed_purchase_days'),
        ('drive_by_min_days', 'lapsed_purchase_days'),
        ('recent_engagement_days', 'prior_engagement_days'),
        ('churn_risk_low_max', 'churn_risk_high_min'),
    ] -%}
    {%- for low, high in orderings -%}
        {%- if clv_is_number(var(low, none)) and clv_is_number(var(high, none))
            and (var(low) | float) > (var(high) | float) -%}
            {%- do errors.append("var " ~ low ~ " = " ~ var(low) ~ " must not exceed var " ~ high ~ " = " ~ var(high)) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- do as_of_date_string() -%}

    {%- if errors -%}
        {{ exceptions.raise_compiler_error("Invalid configuration (dbt_project.yml vars or --vars):\n  - " ~ errors | join('\n  - ')) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro clv_is_number(value) -%}
    {%- if value is none or value is boolean -%}{{ return(false) }}{%- endif -%}
    {{ return(modules.re.match('^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$', value | string | trim) is not none) }}
{%- endmacro %}
