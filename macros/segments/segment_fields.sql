{#-
    The fields a segment definition may name: the columns of int_customers_joined_to_attributes
    (one row per customer). Each has a type (number | text | boolean), which decides the operators
    and values allowed, and the CLV attributes it rests on (Klaviyo's predictive-analytics profile
    fields, seed 002), which segment_summary lists as clv_attributes_used.
    Adding a field: add the column to int_customers_joined_to_attributes, then a line here.
-#}
{% macro segment_fields() -%}
    {%- set basis_field = var('clv_tier_basis', 'total') ~ '_clv' -%}
    {%- set rfm_attributes = ['historic_number_of_orders', 'historic_clv'] -%}
    {{ return({
        'has_email': {'type': 'boolean', 'clv': []},
        'accepts_marketing': {'type': 'boolean', 'clv': []},
        'country_code': {'type': 'text', 'clv': []},
        'region': {'type': 'text', 'clv': []},
        'city': {'type': 'text', 'clv': []},
        'days_since_created': {'type': 'number', 'clv': []},
        'is_emailable': {'type': 'boolean', 'clv': []},
        'is_newsletter_member': {'type': 'boolean', 'clv': []},
        'is_suppressed': {'type': 'boolean', 'clv': []},
        'has_valid_order': {'type': 'boolean', 'clv': []},
        'historic_clv': {'type': 'number', 'clv': ['historic_clv']},
        'historic_number_of_orders': {'type': 'number', 'clv': ['historic_number_of_orders']},
        'average_order_value': {'type': 'number', 'clv': ['average_order_value']},
        'average_days_between_orders': {'type': 'number', 'clv': ['average_days_between_orders']},
        'days_since_first_order': {'type': 'number', 'clv': []},
        'days_since_last_order': {'type': 'number', 'clv': []},
        'high_value_aov_threshold': {'type': 'number', 'clv': ['average_order_value']},
        'total_engagements': {'type': 'number', 'clv': []},
        'recent_engagements': {'type': 'number', 'clv': []},
        'prior_engagements': {'type': 'number', 'clv': []},
        'recent_product_interest_events': {'type': 'number', 'clv': []},
        'recent_email_clicks': {'type': 'number', 'clv': []},
        'engagements_within_dead_weight_days': {'type': 'number', 'clv': []},
        'days_since_last_engagement': {'type': 'number', 'clv': []},
        'predicted_clv': {'type': 'number', 'clv': ['predicted_clv']},
        'total_clv': {'type': 'number', 'clv': ['total_clv']},
        'predicted_number_of_orders': {'type': 'number', 'clv': ['predicted_number_of_orders']},
        'churn_probability': {'type': 'number', 'clv': ['churn_probability']},
        'churn_risk': {'type': 'text', 'clv': ['churn_risk']},
        'probability_alive': {'type': 'number', 'clv': ['probability_alive']},
        'expected_average_order_value': {'type': 'number', 'clv': ['expected_average_order_value']},
        'days_until_expected_next_order': {'type': 'number', 'clv': ['expected_date_of_next_order']},
        'prediction_status': {'type': 'text', 'clv': []},
        'clv_basis_value': {'type': 'number', 'clv': [basis_field]},
        'clv_tier': {'type': 'text', 'clv': [basis_field]},
        'aov_tier': {'type': 'text', 'clv': ['average_order_value']},
        'recency_score': {'type': 'number', 'clv': []},
        'frequency_score': {'type': 'number', 'clv': ['historic_number_of_orders']},
        'monetary_score': {'type': 'number', 'clv': ['historic_clv']},
        'rfm_score': {'type': 'text', 'clv': rfm_attributes},
        'rfm_group': {'type': 'text', 'clv': rfm_attributes},
    }) }}
{%- endmacro %}

{#- The operators allowed per field type. -#}
{% macro segment_operators() -%}
    {{ return({
        'number': ['=', '!=', '<', '<=', '>', '>=', 'between', 'in', 'not_in', 'is_null', 'is_not_null'],
        'text': ['=', '!=', 'in', 'not_in', 'is_null', 'is_not_null'],
        'boolean': ['=', '!=', 'is_null', 'is_not_null'],
    }) }}
{%- endmacro %}

{#- The segment kinds; entries of segment_catalog_extra are custom. -#}
{% macro segment_kinds() -%}
    {{ return(['persona', 'clv_tier', 'aov_tier', 'rfm_group', 'custom']) }}
{%- endmacro %}
