{#- Values of a segment definition: vars resolved, literals typed and quoted. -#}

{#- A value of a definition: a literal, or {var: name} resolved now; as {value, errors}. -#}
{% macro segment_resolve_value(value, where) -%}
    {%- if value is mapping and value.keys() | list == ['var'] -%}
        {%- set resolved = var(value['var'], none) -%}
        {%- if resolved is none -%}
            {{ return({'value': none, 'errors': [where ~ ": unknown var '" ~ value['var'] ~ "' (or it has no value)"]}) }}
        {%- endif -%}
        {{ return({'value': resolved, 'errors': []}) }}
    {%- endif -%}
    {{ return({'value': value, 'errors': []}) }}
{%- endmacro %}

{#- A literal as SQL for a field of a type, as {sql, errors}: a value of the wrong type is an
    error; text is quoted with its quotes doubled, so a value cannot end the literal. -#}
{% macro segment_literal_sql(value, field_type, where) -%}
    {%- if field_type == 'number' and segment_is_number(value) -%}
        {{ return({'sql': value | string | trim, 'errors': []}) }}
    {%- elif field_type == 'text' and (value is string or segment_is_number(value)) -%}
        {{ return({'sql': "'" ~ (value | string | replace("'", "''")) ~ "'", 'errors': []}) }}
    {%- elif field_type == 'boolean' and value is boolean -%}
        {{ return({'sql': 'true' if value else 'false', 'errors': []}) }}
    {%- endif -%}
    {{ return({'sql': 'null', 'errors': [] if value is none else [where ~ ": value " ~ value ~ " is not a " ~ field_type]}) }}
{%- endmacro %}

{% macro segment_is_list(value) -%}
    {{ return(value is iterable and value is not string and value is not mapping) }}
{%- endmacro %}

{% macro segment_is_number(value) -%}
    {%- if value is none or value is boolean -%}{{ return(false) }}{%- endif -%}
    {%- if value is number -%}{{ return(true) }}{%- endif -%}
    {{ return(value is string and modules.re.match('^-?[0-9]+(\.[0-9]+)?$', value | trim) is not none) }}
{%- endmacro %}

{#- A whole number as an int, or none. -#}
{% macro segment_as_whole_number(value) -%}
    {%- if value is none or value is boolean -%}{{ return(none) }}{%- endif -%}
    {%- if value is integer -%}{{ return(value) }}{%- endif -%}
    {%- if value is string and modules.re.match('^[0-9]+$', value | trim) -%}{{ return(value | int) }}{%- endif -%}
    {{ return(none) }}
{%- endmacro %}
