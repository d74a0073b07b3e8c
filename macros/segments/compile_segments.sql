{#-
    The segment compiler (DESIGN.md "Lists and segments"; the format is in docs/segments.md).

    compile_segment_catalog() reads the catalog (default_segment_catalog() then the var
    segment_catalog_extra), checks every definition and turns each one's conditions into a SQL
    predicate over int_customers_joined_to_attributes (aliased `attributes`), plus the counts of
    events and orders in a window and the list memberships the predicates need, each computed once
    whatever the number of segments using it. int_customers_segmented renders the result.

    Checks run when dbt parses the project, so a bad definition stops any dbt command before it
    builds anything; the message names the segment, where in its definition, and what is wrong.
    Lists and event types are data, so they are checked when the model runs
    (validate_segment_catalog_against_data).

    SQL semantics: a condition on a missing value (null) is false, so `not` gives its complement.
-#}

{#- The catalog entries, default first then extra, with where each comes from. -#}
{% macro segment_catalog_entries() -%}
    {%- set entries = [] -%}
    {%- for definition in default_segment_catalog() -%}
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

{#- Compile the whole catalog; raises a compiler error listing every problem found. -#}
{% macro compile_segment_catalog() -%}
    {%- set state = {
        'errors': [], 'event_counts': [], 'order_counts': [], 'lists': [],
        'segment': '', 'clv': [], 'segment_lists': [], 'segment_event_types': [], 'fields': segment_fields(), 'operators': segment_operators(),
    } -%}
    {%- set segments = [] -%}
    {%- set names = [] -%}
    {%- set name_pattern = '^[a-z][a-z0-9_]{0,62}$' -%}
    {%- for entry in segment_catalog_entries() -%}
        {%- set definition = entry.definition -%}
        {%- set origin = ' (var segment_catalog_extra)' if entry.source == 'extra' else '' -%}
        {%- if definition is not mapping -%}
            {%- do state.errors.append("catalog entry #" ~ loop.index ~ origin ~ ": a segment definition must be a mapping with name, kind, description and conditions, got: " ~ definition) -%}
            {%- continue -%}
        {%- endif -%}
        {%- set name = definition.get('name') -%}
        {%- set label = "segment '" ~ name ~ "'" ~ origin -%}
        {%- do state.update({'segment': label, 'clv': [], 'segment_lists': [], 'segment_event_types': []}) -%}
        {%- if name is not string or not modules.re.match(name_pattern, name) -%}
            {%- do state.errors.append("catalog entry #" ~ loop.index ~ origin ~ ": name " ~ name ~ " is not allowed (a lower-case identifier: letters, digits and _, starting with a letter)") -%}
            {%- continue -%}
        {%- endif -%}
        {%- if name in names -%}
            {%- do state.errors.append(label ~ ": the name is already used by another segment of the catalog") -%}
        {%- endif -%}
        {%- do names.append(name) -%}
        {%- for key in definition.keys() if key not in ['name', 'kind', 'description', 'conditions'] -%}
            {%- do state.errors.append(label ~ ": unknown key '" ~ key ~ "' (allowed: name, kind, description, conditions)") -%}
        {%- endfor -%}
        {%- set kind = definition.get('kind', 'custom') -%}
        {%- if kind not in segment_kinds() -%}
            {%- do state.errors.append(label ~ ": unknown kind '" ~ kind ~ "' (allowed: " ~ segment_kinds() | join(', ') ~ ")") -%}
        {%- elif entry.source == 'extra' and kind != 'custom' -%}
            {%- do state.errors.append(label ~ ": kind '" ~ kind ~ "' is reserved for the built-in catalog; segments of segment_catalog_extra are custom") -%}
        {%- endif -%}
        {%- set description = definition.get('description', '') -%}
        {%- if description is not string -%}
            {%- do state.errors.append(label ~ ": description must be text") -%}
        {%- endif -%}
        {%- if 'conditions' not in definition -%}
            {%- do state.errors.append(label ~ ": conditions are missing") -%}
            {%- set predicate = 'false' -%}
        {%- else -%}
            {%- set predicate = segment_condition_sql(definition.conditions, 'conditions', state) -%}
        {%- endif -%}
        {%- do segments.append({
            'name': name, 'kind': kind, 'description': description | string | trim,
            'source': entry.source, 'label': label, 'position': loop.index, 'predicate': predicate,
            'clv_attributes': state.clv | list, 'lists': state.segment_lists | list,
            'event_types': state.segment_event_types | list,
        }) -%}
    {%- endfor -%}
    {%- if state.errors -%}
        {{ exceptions.raise_compiler_error("Invalid segment catalog (macros/segments/segment_catalog.sql, var segment_catalog_extra; format in docs/segments.md):\n  - " ~ state.errors | join('\n  - ')) }}
    {%- endif -%}
    {{ return({
        'segments': segments,
        'event_counts': state.event_counts,
        'order_counts': state.order_counts,
        'lists': state.lists,
    }) }}
{%- endmacro %}

{#- One condition (a node of the tree) as a SQL predicate; problems go to state.errors. -#}
{% macro segment_condition_sql(node, path, state) -%}
    {%- set where = state.segment ~ ", " ~ path -%}
    {%- if node is not mapping -%}
        {%- do state.errors.append(where ~ ": a condition must be a mapping (all, any, not, field, in_list or count), got: " ~ node) -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set keys = node.keys() | list -%}
    {%- if 'all' in keys or 'any' in keys -%}
        {%- set combinator = 'all' if 'all' in keys else 'any' -%}
        {%- if keys | length != 1 -%}
            {%- do state.errors.append(where ~ ": '" ~ combinator ~ "' must stand alone, with its conditions in its list (found keys: " ~ keys | join(', ') ~ ")") -%}
        {%- endif -%}
        {%- set children = node[combinator] -%}
        {%- if not segment_is_list(children) or children | length == 0 -%}
            {%- do state.errors.append(where ~ "." ~ combinator ~ ": must be a non-empty list of conditions") -%}
            {{ return('false') }}
        {%- endif -%}
        {%- set parts = [] -%}
        {%- for child in children -%}
            {%- do parts.append(segment_condition_sql(child, path ~ '.' ~ combinator ~ '[' ~ loop.index0 ~ ']', state)) -%}
        {%- endfor -%}
        {{ return('(' ~ parts | join(' and ' if combinator == 'all' else ' or ') ~ ')') }}
    {%- elif 'not' in keys -%}
        {%- if keys | length != 1 -%}
            {%- do state.errors.append(where ~ ": 'not' must stand alone (found keys: " ~ keys | join(', ') ~ ")") -%}
        {%- endif -%}
        {{ return('(not ' ~ segment_condition_sql(node['not'], path ~ '.not', state) ~ ')') }}
    {%- elif 'field' in keys -%}
        {{ return(segment_field_condition_sql(node, where, state)) }}
    {%- elif 'in_list' in keys -%}
        {{ return(segment_list_condition_sql(node, where, state)) }}
    {%- elif 'count' in keys -%}
        {{ return(segment_count_condition_sql(node, where, state)) }}
    {%- endif -%}
    {%- do state.errors.append(where ~ ": unknown condition with keys " ~ keys | join(', ') ~ " (a condition is one of: all, any, not, field, in_list, count)") -%}
    {{ return('false') }}
{%- endmacro %}

{#- {field: F, op: OP, value: V}: a customer attribute compared with a value, a var or a field. -#}
{% macro segment_field_condition_sql(node, where, state) -%}
    {%- for key in node.keys() if key not in ['field', 'op', 'value'] -%}
        {%- do state.errors.append(where ~ ": unknown key '" ~ key ~ "' in a field condition (allowed: field, op, value)") -%}
    {%- endfor -%}
    {%- set field = node.field -%}
    {%- if field not in state.fields -%}
        {%- do state.errors.append(where ~ ": unknown field '" ~ field ~ "' (known fields: " ~ state.fields.keys() | sort | join(', ') ~ ")") -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set field_type = state.fields[field].type -%}
    {%- for attribute in state.fields[field].clv if attribute not in state.clv -%}
        {%- do state.clv.append(attribute) -%}
    {%- endfor -%}
    {%- set column = 'attributes.' ~ field -%}
    {%- set op = node.get('op') -%}
    {%- set all_operators = state.operators.number -%}
    {%- if op not in all_operators -%}
        {%- do state.errors.append(where ~ ": unknown operator '" ~ op ~ "' (allowed: " ~ all_operators | join(', ') ~ ")") -%}
        {{ return('false') }}
    {%- elif op not in state.operators[field_type] -%}
        {%- do state.errors.append(where ~ ": operator '" ~ op ~ "' does not apply to the " ~ field_type ~ " field '" ~ field ~ "' (allowed: " ~ state.operators[field_type] | join(', ') ~ ")") -%}
        {{ return('false') }}
    {%- endif -%}

    {%- if op in ['is_null', 'is_not_null'] -%}
        {%- if 'value' in node -%}
            {%- do state.errors.append(where ~ ": operator '" ~ op ~ "' takes no value") -%}
        {%- endif -%}
        {{ return('(' ~ column ~ (' is null' if op == 'is_null' else ' is not null') ~ ')') }}
    {%- endif -%}

    {%- if 'value' not in node -%}
        {%- do state.errors.append(where ~ ": operator '" ~ op ~ "' needs a value") -%}
        {{ return('false') }}
    {%- endif -%}

    {%- if op in ['between', 'in', 'not_in'] -%}
        {%- set values = node.value -%}
        {%- set needed = 'two values [low, high]' if op == 'between' else 'a non-empty list of values' -%}
        {%- if not segment_is_list(values) or values | length == 0 or (op == 'between' and values | length != 2) -%}
            {%- do state.errors.append(where ~ ": operator '" ~ op ~ "' needs " ~ needed ~ ", got: " ~ values) -%}
            {{ return('false') }}
        {%- endif -%}
        {%- set literals = [] -%}
        {%- for item in values -%}
            {%- do literals.append(segment_literal_sql(segment_resolve_value(item, where, state), field_type, where, state)) -%}
        {%- endfor -%}
        {%- if op == 'between' -%}
            {%- if segment_is_number(segment_resolve_value(values[0], where, state)) and segment_is_number(segment_resolve_value(values[1], where, state))
                and (segment_resolve_value(values[0], where, state) | float) > (segment_resolve_value(values[1], where, state) | float) -%}
                {%- do state.errors.append(where ~ ": between needs low <= high, got: " ~ values) -%}
            {%- endif -%}
            {{ return('coalesce(' ~ column ~ ' between ' ~ literals[0] ~ ' and ' ~ literals[1] ~ ', false)') }}
        {%- endif -%}
        {{ return('coalesce(' ~ column ~ (' in (' if op == 'in' else ' not in (') ~ literals | join(', ') ~ '), false)') }}
    {%- endif -%}

    {%- set sql_operator = '<>' if op == '!=' else op -%}
    {%- set value = node.value -%}
    {%- if value is mapping and value.keys() | list == ['field'] -%}
        {%- set other = value.field -%}
        {%- if other not in state.fields -%}
            {%- do state.errors.append(where ~ ": value names an unknown field '" ~ other ~ "' (known fields: " ~ state.fields.keys() | sort | join(', ') ~ ")") -%}
            {{ return('false') }}
        {%- elif state.fields[other].type != field_type -%}
            {%- do state.errors.append(where ~ ": field '" ~ field ~ "' (" ~ field_type ~ ") cannot be compared with field '" ~ other ~ "' (" ~ state.fields[other].type ~ ")") -%}
            {{ return('false') }}
        {%- endif -%}
        {%- for attribute in state.fields[other].clv if attribute not in state.clv -%}
            {%- do state.clv.append(attribute) -%}
        {%- endfor -%}
        {{ return('coalesce(' ~ column ~ ' ' ~ sql_operator ~ ' attributes.' ~ other ~ ', false)') }}
    {%- endif -%}
    {%- set literal = segment_literal_sql(segment_resolve_value(value, where, state), field_type, where, state) -%}
    {{ return('coalesce(' ~ column ~ ' ' ~ sql_operator ~ ' ' ~ literal ~ ', false)') }}
{%- endmacro %}

{#- {in_list: LIST}: a current member of a list (static membership from the raw list_memberships). -#}
{% macro segment_list_condition_sql(node, where, state) -%}
    {%- for key in node.keys() if key != 'in_list' -%}
        {%- do state.errors.append(where ~ ": unknown key '" ~ key ~ "' in a list condition (write {in_list: LIST_ID}; negate with not)") -%}
    {%- endfor -%}
    {%- set list_id = segment_resolve_value(node.in_list, where, state) -%}
    {%- if list_id is not string or list_id | trim == '' -%}
        {%- do state.errors.append(where ~ ": in_list needs a list id (text or {var: name}), got: " ~ node.in_list) -%}
        {{ return('false') }}
    {%- endif -%}
    {%- if list_id not in state.lists -%}
        {%- do state.lists.append(list_id) -%}
    {%- endif -%}
    {%- do state.segment_lists.append(list_id) -%}
    {%- set position = state.lists.index(list_id) + 1 -%}
    {{ return('coalesce(list_memberships_current.in_list_' ~ position ~ ', false)') }}
{%- endmacro %}

{#- {count: events|orders, event_types: [...], channels: [...], within_days: N | between_days: [A, B],
    op: OP, value: V}: how many events of those types, or valid orders, fall in the window
    (within_days N: 0 <= days_ago < N; between_days [A, B]: A <= days_ago < B; neither: all history
    up to the as-of date). op and value default to ">= 1" (at least once). -#}
{% macro segment_count_condition_sql(node, where, state) -%}
    {%- set counted = node['count'] -%}
    {%- set allowed = {'events': ['count', 'event_types', 'within_days', 'between_days', 'op', 'value'],
                       'orders': ['count', 'channels', 'within_days', 'between_days', 'op', 'value']} -%}
    {%- if counted not in allowed -%}
        {%- do state.errors.append(where ~ ": count must be events or orders, got: " ~ counted) -%}
        {{ return('false') }}
    {%- endif -%}
    {%- for key in node.keys() if key not in allowed[counted] -%}
        {%- do state.errors.append(where ~ ": unknown key '" ~ key ~ "' in a count of " ~ counted ~ " (allowed: " ~ allowed[counted] | join(', ') ~ ")") -%}
    {%- endfor -%}

    {#- what is counted -#}
    {%- set filters = [] -%}
    {%- set filter_key = 'event_types' if counted == 'events' else 'channels' -%}
    {%- set raw_filter = node.get(filter_key) -%}
    {%- if raw_filter is string -%}{%- set raw_filter = [raw_filter] -%}{%- endif -%}
    {%- if raw_filter is none and counted == 'events' -%}
        {%- do state.errors.append(where ~ ": a count of events needs event_types (a list of event types, or engagement)") -%}
    {%- elif raw_filter is not none and (not segment_is_list(raw_filter) or raw_filter | length == 0) -%}
        {%- do state.errors.append(where ~ ": " ~ filter_key ~ " must be a non-empty list of names, got: " ~ raw_filter) -%}
    {%- elif raw_filter is not none -%}
        {%- for item in raw_filter -%}
            {%- set resolved = segment_resolve_value(item, where, state) -%}
            {%- if resolved is not string -%}
                {%- do state.errors.append(where ~ ": " ~ filter_key ~ " must hold names, got: " ~ item) -%}
            {%- elif resolved not in filters -%}
                {%- do filters.append(resolved) -%}
                {%- if counted == 'events' -%}{%- do state.segment_event_types.append(resolved) -%}{%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {#- the window -#}
    {%- set lower = 0 -%}
    {%- set upper = none -%}
    {%- if 'within_days' in node and 'between_days' in node -%}
        {%- do state.errors.append(where ~ ": malformed window: give within_days or between_days, not both") -%}
    {%- elif 'within_days' in node -%}
        {%- set upper = segment_as_whole_number(segment_resolve_value(node.within_days, where, state)) -%}
        {%- if upper is none or upper < 1 -%}
            {%- do state.errors.append(where ~ ": malformed window: within_days must be a whole number of days >= 1, got: " ~ node.within_days) -%}
            {%- set upper = 1 -%}
        {%- endif -%}
    {%- elif 'between_days' in node -%}
        {%- set bounds = node.between_days -%}
        {%- if not segment_is_list(bounds) or bounds | length != 2 -%}
            {%- do state.errors.append(where ~ ": malformed window: between_days must be [from_days, to_days], got: " ~ bounds) -%}
        {%- else -%}
            {%- set lower = segment_as_whole_number(segment_resolve_value(bounds[0], where, state)) -%}
            {%- set upper = segment_as_whole_number(segment_resolve_value(bounds[1], where, state)) -%}
            {%- if lower is none or upper is none or lower < 0 or lower >= upper -%}
                {%- do state.errors.append(where ~ ": malformed window: between_days [from_days, to_days] needs whole numbers with 0 <= from_days < to_days, got: " ~ bounds) -%}
                {%- set lower = 0 -%}
                {%- set upper = none -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}

    {#- the comparison -#}
    {%- set op = node.get('op', '>=') -%}
    {%- set comparisons = ['=', '!=', '<', '<=', '>', '>=', 'between'] -%}
    {%- if op not in comparisons -%}
        {%- do state.errors.append(where ~ ": unknown operator '" ~ op ~ "' for a count (allowed: " ~ comparisons | join(', ') ~ ")") -%}
        {{ return('false') }}
    {%- endif -%}
    {%- if 'op' in node and 'value' not in node -%}
        {%- do state.errors.append(where ~ ": operator '" ~ op ~ "' needs a value") -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set raw_value = node.get('value', 1) -%}
    {%- set raw_values = raw_value if op == 'between' else [raw_value] -%}
    {%- if not segment_is_list(raw_values) or raw_values | length != (2 if op == 'between' else 1) -%}
        {%- do state.errors.append(where ~ ": operator between needs two counts [low, high], got: " ~ raw_value) -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set counts = [] -%}
    {%- for item in raw_values -%}
        {%- set count_value = segment_as_whole_number(segment_resolve_value(item, where, state)) -%}
        {%- if count_value is none or count_value < 0 -%}
            {%- do state.errors.append(where ~ ": a count is compared with whole numbers >= 0, got: " ~ item) -%}
            {%- set count_value = 0 -%}
        {%- endif -%}
        {%- do counts.append(count_value) -%}
    {%- endfor -%}

    {#- one column per distinct (what, window) -#}
    {%- set spec = {'filters': filters | sort, 'lower': lower, 'upper': upper} -%}
    {%- set registry = state.event_counts if counted == 'events' else state.order_counts -%}
    {%- if spec not in registry -%}
        {%- do registry.append(spec) -%}
    {%- endif -%}
    {%- set prefix = 'event_counts.event_count_' if counted == 'events' else 'order_counts.order_count_' -%}
    {%- set column = 'coalesce(' ~ prefix ~ (registry.index(spec) + 1) ~ ', 0)' -%}
    {%- if op == 'between' -%}
        {{ return('(' ~ column ~ ' between ' ~ counts[0] ~ ' and ' ~ counts[1] ~ ')') }}
    {%- endif -%}
    {{ return('(' ~ column ~ ' ' ~ ('<>' if op == '!=' else op) ~ ' ' ~ counts[0] ~ ')') }}
{%- endmacro %}

{#- A value of a definition: a literal, or {var: name} resolved now. -#}
{% macro segment_resolve_value(value, where, state) -%}
    {%- if value is mapping and value.keys() | list == ['var'] -%}
        {%- set resolved = var(value['var'], none) -%}
        {%- if resolved is none -%}
            {%- do state.errors.append(where ~ ": unknown var '" ~ value['var'] ~ "' (or it has no value)") -%}
        {%- endif -%}
        {{ return(resolved) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- A literal as SQL for a field of a type; a value of the wrong type is an error. -#}
{% macro segment_literal_sql(value, field_type, where, state) -%}
    {%- if field_type == 'number' and segment_is_number(value) -%}
        {{ return(value | string | trim) }}
    {%- elif field_type == 'text' and (value is string or segment_is_number(value)) -%}
        {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
    {%- elif field_type == 'boolean' and value is boolean -%}
        {{ return('true' if value else 'false') }}
    {%- endif -%}
    {%- if value is not none -%}
        {%- do state.errors.append(where ~ ": value " ~ value ~ " is not a " ~ field_type) -%}
    {%- endif -%}
    {{ return('null') }}
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
        {{ exceptions.raise_compiler_error("Invalid segment catalog (macros/segments/segment_catalog.sql, var segment_catalog_extra):\n  - " ~ errors | join('\n  - ')) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
