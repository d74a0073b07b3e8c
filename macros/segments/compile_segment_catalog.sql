{#-
    The segment compiler's entry point (DESIGN.md "Lists and segments"; the format is in
    docs/segments.md): load the catalog (load_segment_catalog), check each definition
    (validate_segment_definition), turn its conditions into a SQL predicate over
    int_customers_joined_to_attributes, aliased `attributes` (segment_predicate, which hands counts
    in a window to segment_windowed_count), and stop with every problem found, each naming the
    segment, where in its definition and what is wrong.

    The result lists, besides each segment's predicate, the catalog-wide columns the predicates
    read: the counts of events and orders in a window (one column per distinct count, whatever
    the number of segments using it) and the lists. int_customers_segmented renders them.
    SQL semantics: a condition on a missing value (null) is false, so `not` gives its complement.
-#}
{% macro compile_segment_catalog() -%}
    {#- while dbt parses, the graph holds no YAML yet: nothing to compile (every model reading the
        catalog has static refs); the checks run at the start of the run -#}
    {%- if not execute -%}
        {{ return({'segments': [], 'event_counts': [], 'order_counts': [], 'lists': []}) }}
    {%- endif -%}
    {%- set fields = segment_fields() -%}
    {%- set columns = {'event_counts': [], 'order_counts': [], 'lists': []} -%}
    {%- set errors = [] -%}
    {%- set segments = [] -%}
    {%- set names = [] -%}
    {%- for entry in load_segment_catalog() -%}
        {%- set checked = validate_segment_definition(entry.definition, loop.index, entry.source, names) -%}
        {%- do errors.extend(checked.errors) -%}
        {%- if checked.name is none -%}{%- continue -%}{%- endif -%}
        {%- do names.append(checked.name) -%}
        {%- if 'conditions' in entry.definition -%}
            {%- set compiled = segment_predicate(entry.definition.conditions, checked.label ~ ', conditions', fields, columns) -%}
        {%- else -%}
            {%- set compiled = segment_result('false') -%}
        {%- endif -%}
        {%- do errors.extend(compiled.errors) -%}
        {%- do segments.append({
            'name': checked.name, 'kind': checked.kind, 'description': checked.description,
            'source': entry.source, 'label': checked.label, 'position': loop.index,
            'predicate': compiled.sql, 'clv_attributes': compiled.clv_attributes | unique | list,
            'lists': compiled.lists, 'event_types': compiled.event_types,
        }) -%}
    {%- endfor -%}
    {%- if errors -%}
        {{ exceptions.raise_compiler_error("Invalid segment catalog (models/intermediate/segments/_segments__catalog.yml, var segment_catalog_extra; format in docs/segments.md):\n  - " ~ errors | join('\n  - ')) }}
    {%- endif -%}
    {{ return({
        'segments': segments,
        'event_counts': columns.event_counts,
        'order_counts': columns.order_counts,
        'lists': columns.lists,
    }) }}
{%- endmacro %}

{#- What compiling a condition gives: its SQL, the problems found, and what it reads (the CLV
    attributes of its fields, the lists and event types it names). -#}
{% macro segment_result(sql, errors=[], clv_attributes=[], lists=[], event_types=[]) -%}
    {{ return({'sql': sql, 'errors': errors | list, 'clv_attributes': clv_attributes | list,
               'lists': lists | list, 'event_types': event_types | list}) }}
{%- endmacro %}
