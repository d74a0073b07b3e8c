{#-
    Loading the segment catalog and its vocabulary from the project's YAML, through dbt's graph:
    the built-in definitions are the meta segment_catalog of int_customers_segmented
    (models/intermediate/segments/_segments__catalog.yml), the fields the segment_field meta of the
    columns of int_customers_joined_to_attributes (same file). The graph holds YAML
    properties only once the project is parsed, so while dbt parses (execute is false) the catalog
    is empty; it is checked at the start of every run (validate_segment_catalog, on-run-start).
-#}

{#- The properties of a model of this project, as dbt's graph holds them. -#}
{% macro segment_model_node(model_name) -%}
    {%- if execute and not graph.get('nodes') -%}
        {{ exceptions.raise_compiler_error("The segment catalog is read from dbt's graph, which a dbt unit test does not have: give it with overrides: {macros: {segment_builtin_catalog: *segment_catalog, segment_attribute_columns: *segment_attribute_columns}} in models/intermediate/segments/_segments__catalog.yml") }}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) if execute else none -%}
    {%- if execute and node is none -%}
        {{ exceptions.raise_compiler_error("Invalid segment catalog: model " ~ model_name ~ " is missing from the project (the catalog and its fields are read from its YAML)") }}
    {%- endif -%}
    {{ return(node) }}
{%- endmacro %}

{#- The built-in definitions: the meta segment_catalog of int_customers_segmented. A unit test,
    whose graph is empty, gives them with overrides: macros: {segment_builtin_catalog: ...}. -#}
{% macro segment_builtin_catalog() -%}
    {%- set node = segment_model_node('int_customers_segmented') -%}
    {{ return(node.config.meta.get('segment_catalog', []) if node is not none else []) }}
{%- endmacro %}

{#- The columns of int_customers_joined_to_attributes, as a list of {name, meta}. A unit test,
    whose graph is empty, gives them with overrides: macros: {segment_attribute_columns: ...}. -#}
{% macro segment_attribute_columns() -%}
    {%- set node = segment_model_node('int_customers_joined_to_attributes') -%}
    {{ return(node.columns.values() | list if node is not none else []) }}
{%- endmacro %}

{#- The definitions to compile: the built-in catalog then var segment_catalog_extra, each as
    {definition, source: catalog | extra}. -#}
{% macro load_segment_catalog() -%}
    {%- set entries = [] -%}
    {%- set builtin = segment_builtin_catalog() -%}
    {%- if builtin is mapping or builtin is string or builtin is not iterable -%}
        {{ exceptions.raise_compiler_error("Invalid segment catalog: meta segment_catalog of int_customers_segmented (models/intermediate/segments/_segments__catalog.yml) must be a list of segment definitions, got: " ~ builtin) }}
    {%- endif -%}
    {%- for definition in builtin -%}
        {%- do entries.append({'definition': definition, 'source': 'catalog'}) -%}
    {%- endfor -%}
    {%- set extra = var('segment_catalog_extra', []) -%}
    {%- if extra is none -%}
        {%- set extra = [] -%}
    {%- elif extra is string -%}
        {%- set extra = fromyaml(extra) if extra | trim else [] -%}
    {%- endif -%}
    {%- if extra is mapping or extra is string or extra is not iterable -%}
        {{ exceptions.raise_compiler_error("Invalid segment catalog: var segment_catalog_extra must be a list of segment definitions (see docs/segments.md), got: " ~ extra) }}
    {%- endif -%}
    {%- for definition in extra -%}
        {%- do entries.append({'definition': definition, 'source': 'extra'}) -%}
    {%- endfor -%}
    {{ return(entries) }}
{%- endmacro %}

{#- The fields a segment definition may name: the columns of int_customers_joined_to_attributes
    whose meta has a segment_field, as {name: {type, clv}}. -#}
{% macro segment_fields() -%}
    {%- set fields = {} -%}
    {%- set errors = [] -%}
    {%- for column in segment_attribute_columns() -%}
        {%- set name = column.name -%}
        {%- set meta = column.get('meta') or column.get('config', {}).get('meta') or {} -%}
        {%- if 'segment_field' not in meta -%}{%- continue -%}{%- endif -%}
        {%- set spec = meta.segment_field -%}
        {%- set clv = spec.get('clv_attributes', []) if spec is mapping else none -%}
        {%- if spec is not mapping or spec.get('type') not in segment_operators() -%}
            {%- do errors.append("column " ~ name ~ ": segment_field needs a type (allowed: " ~ segment_operators().keys() | join(', ') ~ "), got: " ~ spec) -%}
        {%- elif clv is string or clv is mapping or clv is not iterable -%}
            {%- do errors.append("column " ~ name ~ ": segment_field clv_attributes must be a list of names, got: " ~ clv) -%}
        {%- else -%}
            {%- do fields.update({name: {'type': spec.type, 'clv': clv | list}}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if errors -%}
        {{ exceptions.raise_compiler_error("Invalid segment fields (meta segment_field of int_customers_joined_to_attributes, models/intermediate/segments/_segments__catalog.yml):\n  - " ~ errors | join('\n  - ')) }}
    {%- endif -%}
    {{ return(fields) }}
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
