{#-
    The sum of a double expression, the same to the last digit on every run. A parallel engine adds
    doubles in a different order each time (DuckDB's threads, Spark's partitions), so the last
    digits of sum() and avg() move between reruns of the same data; a decimal sum is exact and so
    does not depend on the order. Used by the backtest's metrics, which a rerun must reproduce.
    Values are kept to 12 decimal places (rounded once, per row).
-#}
{% macro clv_exact_sum(expression) -%}
    sum(cast({{ expression }} as decimal(38, 12)))
{%- endmacro %}

{#- The mean of a double expression over its non-null values, exactly (see clv_exact_sum). -#}
{% macro clv_exact_avg(expression) -%}
    cast({{ clv_exact_sum(expression) }} as {{ type_double() }}) / nullif(count({{ expression }}), 0)
{%- endmacro %}
