{#- The var winback_sample_shares ({segment_name: share of its emailable members}), checked: every
    segment must be in the catalog and every share a number in (0, 1]. Seed 004 tests win-back
    campaigns on fleeting_fans 50 %, drive_by_customers 25 %, false_starts 10 %. -#}
{% macro winback_sample_shares() -%}
    {%- set shares = var('winback_sample_shares', {}) -%}
    {%- if shares is string -%}{%- set shares = fromyaml(shares) -%}{%- endif -%}
    {%- if shares is not mapping -%}
        {{ exceptions.raise_compiler_error("var winback_sample_shares = " ~ shares ~ " is not allowed (allowed: a mapping of catalog segment names to shares in (0, 1], e.g. {fleeting_fans: 0.5})") }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- set check_names = execute and model.resource_type != 'unit_test' -%}
    {%- for segment in (compile_segment_catalog().segments if check_names else []) -%}
        {%- do names.append(segment.name) -%}
    {%- endfor -%}
    {%- set errors = [] -%}
    {%- for name, share in shares.items() -%}
        {#- the catalog is read from the graph: complete only once the project is parsed, absent
            in a unit test (whose fixtures do not depend on the catalog) -#}
        {%- if check_names and name not in names -%}
            {%- do errors.append("var winback_sample_shares names segment '" ~ name ~ "', which is not in the segment catalog") -%}
        {%- endif -%}
        {%- if not segment_is_number(share) or (share | float) <= 0 or (share | float) > 1 -%}
            {%- do errors.append("var winback_sample_shares: share " ~ share ~ " of '" ~ name ~ "' is not allowed (allowed: a number in (0, 1])") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if errors -%}
        {{ exceptions.raise_compiler_error("Invalid configuration:\n  - " ~ errors | join('\n  - ')) }}
    {%- endif -%}
    {{ return(shares) }}
{%- endmacro %}
