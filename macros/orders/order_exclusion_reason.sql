{#-
    Why an order does not count (DESIGN.md "Orders that count"), from int_orders_netted's columns
    and a net amount: the order's net of all its refunds, or of those dated by the backtest's
    calibration date. Null when it counts. The vars include_* switch Klaviyo's custom-metric rules.
-#}
{% macro order_exclusion_reason(net_amount) -%}
        case
            when status = 'cancelled' then 'cancelled'
            {% if var('include_zero_value_orders') -%}
            when gross_amount = 0 then null  -- counts (var include_zero_value_orders)
            {% else -%}
            when gross_amount = 0 then 'zero_value'
            {% endif -%}
            when {{ net_amount }} <= 0 then 'fully_refunded'
            {% if not var('include_pos_orders') -%}
            when channel = 'pos' then 'pos_excluded'
            {% endif -%}
            {% if not var('include_subscription_orders') -%}
            when is_subscription then 'subscription_excluded'
            {% endif -%}
        end
{%- endmacro %}
