{#- SQL helpers of int_customers_segmented for the counts of events and orders in a window. -#}

{#- The event types of a count: named types, and `engagement` for every engagement type
    (seeds/event_types.csv is_engagement). -#}
{% macro segment_event_type_filter(event_types) -%}
    {%- set parts = [] -%}
    {%- set named = event_types | reject('equalto', 'engagement') | list -%}
    {%- if named -%}
        {%- set quoted = [] -%}
        {%- for event_type in named -%}
            {%- do quoted.append("'" ~ event_type | replace("'", "''") ~ "'") -%}
        {%- endfor -%}
        {%- do parts.append('event_type in (' ~ quoted | join(', ') ~ ')') -%}
    {%- endif -%}
    {%- if 'engagement' in event_types -%}
        {%- do parts.append('is_engagement') -%}
    {%- endif -%}
    {{ return(parts | join(' or ') if parts else 'true') }}
{%- endmacro %}

{#- A window of a count on a days_ago column: lower <= days_ago < upper (no upper: all history). -#}
{% macro segment_window_filter(days_ago_column, spec) -%}
    {%- set parts = [days_ago_column ~ ' >= ' ~ spec.lower] -%}
    {%- if spec.upper is not none -%}
        {%- do parts.append(days_ago_column ~ ' < ' ~ spec.upper) -%}
    {%- endif -%}
    {{ return('(' ~ parts | join(' and ') ~ ')') }}
{%- endmacro %}
