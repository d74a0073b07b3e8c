{#- Pre-hook of base_shop__orders: the var reporting_currency must have rates in seeds/fx_rates.csv.
    Without them every order would be rejected unknown_currency and the run would go on with no
    orders, so the run stops here, after the seeds are loaded and before any order is converted. -#}
{% macro assert_reporting_currency_has_rates() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set currency = var('reporting_currency') | string -%}
    {%- set available = run_query(
        'select distinct reporting_currency from ' ~ ref('fx_rates') ~ ' order by 1'
    ).columns[0].values() | list -%}
    {%- if currency not in available -%}
        {{ exceptions.raise_compiler_error(
            "var reporting_currency = " ~ currency ~ " has no rates in seeds/fx_rates.csv (it has rates to: "
            ~ (available | join(', ') if available else 'none') ~ "). Add one row per order currency "
            ~ "(currency_code, reporting_currency = " ~ currency ~ ", rate_to_reporting), or set "
            ~ "reporting_currency to one of those.") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
