{#-
    Gamma-Gamma's expected value of a customer's future orders (Fader, Hardie and Lee 2005, "RFM and
    CLV", eq. 5): a weighted mean of the population mean p·v/(q-1) and the customer's own mean
    repeat order value, the weight growing with their repeat purchases. A customer without a repeat
    purchase gets the population mean. The one implementation of the formula: int_customers_predicted
    and the backtest (int_clv_backtest_customers_scored) both call it.
-#}
{% macro gamma_gamma_expected_order_value(p, q, v, frequency, monetary_value) -%}
    case
        when {{ frequency }} > 0 then
            ({{ q }} - 1) / ({{ p }} * {{ frequency }} + {{ q }} - 1) * ({{ p }} * {{ v }} / ({{ q }} - 1))
            + {{ p }} * {{ frequency }} / ({{ p }} * {{ frequency }} + {{ q }} - 1) * {{ monetary_value }}
        else {{ p }} * {{ v }} / ({{ q }} - 1)
    end
{%- endmacro %}
