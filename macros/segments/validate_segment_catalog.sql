{#-
    Checks of the segment catalog. The definitions are checked at the start of every run
    (on-run-start, before any seed or model), and again whenever a model using the catalog is
    compiled; lists and event types are data, so they are checked when int_customers_segmented
    runs (validate_segment_catalog_against_data).
-#}

{#- on-run-start: compile the whole catalog, which stops the run listing every problem. -#}
{% macro validate_segment_catalog() -%}
    {%- if execute -%}
        {%- do compile_segment_catalog() -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#- The top level of one definition (name, keys, kind, description, conditions present), as
    {name (none when unusable), label, kind, description, errors}. -#}
{% macro validate_segment_definition(definition, position, source, names_so_far) -%}
    {%- set origin = ' (var segment_catalog_extra)' if source == 'extra' else '' -%}
    {%- if definition is not mapping -%}
        {{ return({'name': none, 'errors': ["catalog entry #" ~ position ~ origin ~ ": a segment definition must be a mapping with name, kind, description and conditions, got: " ~ definition]}) }}
    {%- endif -%}
    {%- set name = definition.get('name') -%}
    {%- if name is not string or not modules.re.match('^[a-z][a-z0-9_]{0,62}$', name) -%}
        {{ return({'name': none, 'errors': ["catalog entry #" ~ position ~ origin ~ ": name " ~ name ~ " is not allowed (a lower-case identifier: letters, digits and _, starting with a letter)"]}) }}
    {%- endif -%}
    {%- set label = "segment '" ~ name ~ "'" ~ origin -%}
    {%- set errors = [] -%}
    {%- if name in names_so_far -%}
        {%- do errors.append(label ~ ": the name is already used by another segment of the catalog") -%}
    {%- endif -%}
    {%- for key in definition.keys() if key not in ['name', 'kind', 'description', 'conditions'] -%}
        {%- do errors.append(label ~ ": unknown key '" ~ key ~ "' (allowed: name, kind, description, conditions)") -%}
    {%- endfor -%}
    {%- set kind = definition.get('kind', 'custom') -%}
    {%- if kind not in segment_kinds() -%}
        {%- do errors.append(label ~ ": unknown kind '" ~ kind ~ "' (allowed: " ~ segment_kinds() | join(', ') ~ ")") -%}
    {%- elif source == 'extra' and kind != 'custom' -%}
        {%- do errors.append(label ~ ": kind '" ~ kind ~ "' is reserved for the built-in catalog; segments of segment_catalog_extra are custom") -%}
    {%- endif -%}
    {%- set description = definition.get('description', '') -%}
    {%- if description is not string -%}
        {%- do errors.append(label ~ ": description must be text") -%}
    {%- endif -%}
    {%- if 'conditions' not in definition -%}
        {%- do errors.append(label ~ ": conditions are missing") -%}
    {%- endif -%}
    {{ return({'name': name, 'label': label, 'kind': kind, 'description': description | string | trim, 'errors': errors}) }}
{%- endmacro %}

{#- Checks that need the data, run when int_customers_segmented runs: every list named exists in
    the raw list memberships (the newsletter_list_id list is always known) and every event type in
    seeds/event_types.csv (or engagement). Skipped in unit tests, whose inputs are fixtures. -#}
{% macro validate_segment_catalog_against_data(compiled, list_memberships_relation, event_types_relation) -%}
    {%- if not execute or model.resource_type != 'model' -%}{{ return('') }}{%- endif -%}
    {%- set errors = [] -%}
    {%- set used_lists = [] -%}
    {%- set used_event_types = [] -%}
    {%- for segment in compiled.segments -%}
        {%- do used_lists.extend(segment.lists) -%}
        {%- do used_event_types.extend(segment.event_types | reject('equalto', 'engagement')) -%}
    {%- endfor -%}
    {%- set known_lists = [var('newsletter_list_id')] -%}
    {%- set check_lists = (used_lists | reject('in', known_lists) | list) and load_relation(list_memberships_relation) is not none -%}
    {%- if check_lists -%}
        {%- do known_lists.extend(run_query('select distinct list_id from ' ~ list_memberships_relation).columns[0].values()) -%}
    {%- endif -%}
    {%- set check_types = used_event_types and load_relation(event_types_relation) is not none -%}
    {%- set known_types = run_query('select event_type from ' ~ event_types_relation).columns[0].values() | list if check_types else [] -%}
    {%- for segment in compiled.segments -%}
        {%- for list_id in segment.lists if check_lists and list_id not in known_lists -%}
            {%- do errors.append(segment.label ~ ": unknown list '" ~ list_id ~ "': no list membership has that list_id (lists in the data: " ~ known_lists | unique | sort | join(', ') ~ ")") -%}
        {%- endfor -%}
        {%- for event_type in segment.event_types if check_types and event_type != 'engagement' and event_type not in known_types -%}
            {%- do errors.append(segment.label ~ ": unknown event type '" ~ event_type ~ "' (allowed: engagement, " ~ known_types | sort | join(', ') ~ ")") -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if errors -%}
        {{ exceptions.raise_compiler_error("Invalid segment catalog (models/intermediate/segments/_segments__catalog.yml, var segment_catalog_extra):\n  - " ~ errors | join('\n  - ')) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
