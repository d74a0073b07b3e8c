{#-
    Counts in a window: {count: events|orders, event_types: [...], channels: [...],
    within_days: N | between_days: [A, B], op: OP, value: V} holds when the number of events of
    those types, or of valid orders, in the window compares with V (within_days N:
    0 <= days_ago < N; between_days [A, B]: A <= days_ago < B; neither: all history up to the as-of
    date). op and value default to ">= 1" (at least once).

    segment_windowed_count checks the condition and returns its predicate (a segment_result);
    each distinct count (what, window) becomes one column of int_customers_segmented, computed
    once whatever the number of segments using it, from the filters below.
-#}
{% macro segment_windowed_count(node, where, columns) -%}
    {%- set counted = node['count'] -%}
    {%- set allowed = {'events': ['count', 'event_types', 'within_days', 'between_days', 'op', 'value'],
                       'orders': ['count', 'channels', 'within_days', 'between_days', 'op', 'value']} -%}
    {%- if counted not in allowed -%}
        {{ return(segment_result('false', [where ~ ": count must be events or orders, got: " ~ counted])) }}
    {%- endif -%}
    {%- set errors = [] -%}
    {%- for key in node.keys() if key not in allowed[counted] -%}
        {%- do errors.append(where ~ ": unknown key '" ~ key ~ "' in a count of " ~ counted ~ " (allowed: " ~ allowed[counted] | join(', ') ~ ")") -%}
    {%- endfor -%}

    {#- what is counted -#}
    {%- set filters = [] -%}
    {%- set filter_key = 'event_types' if counted == 'events' else 'channels' -%}
    {%- set raw_filter = node.get(filter_key) -%}
    {%- if raw_filter is string -%}{%- set raw_filter = [raw_filter] -%}{%- endif -%}
    {%- if raw_filter is none and counted == 'events' -%}
        {%- do errors.append(where ~ ": a count of events needs event_types (a list of event types, or engagement)") -%}
    {%- elif raw_filter is not none and (not segment_is_list(raw_filter) or raw_filter | length == 0) -%}
        {%- do errors.append(where ~ ": " ~ filter_key ~ " must be a non-empty list of names, got: " ~ raw_filter) -%}
    {%- elif raw_filter is not none -%}
        {%- for item in raw_filter -%}
            {%- set resolved = segment_resolve_value(item, where) -%}
            {%- do errors.extend(resolved.errors) -%}
            {%- if resolved.value is not string -%}
                {%- do errors.append(where ~ ": " ~ filter_key ~ " must hold names, got: " ~ item) -%}
            {%- elif resolved.value not in filters -%}
                {%- do filters.append(resolved.value) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {#- the window -#}
    {%- set window = segment_count_window(node, where) -%}
    {%- do errors.extend(window.errors) -%}

    {#- the comparison -#}
    {%- set op = node.get('op', '>=') -%}
    {%- set comparisons = ['=', '!=', '<', '<=', '>', '>=', 'between'] -%}
    {%- if op not in comparisons -%}
        {{ return(segment_result('false', errors + [where ~ ": unknown operator '" ~ op ~ "' for a count (allowed: " ~ comparisons | join(', ') ~ ")"])) }}
    {%- endif -%}
    {%- if 'op' in node and 'value' not in node -%}
        {{ return(segment_result('false', errors + [where ~ ": operator '" ~ op ~ "' needs a value"])) }}
    {%- endif -%}
    {%- set raw_value = node.get('value', 1) -%}
    {%- set raw_values = raw_value if op == 'between' else [raw_value] -%}
    {%- if not segment_is_list(raw_values) or raw_values | length != (2 if op == 'between' else 1) -%}
        {{ return(segment_result('false', errors + [where ~ ": operator between needs two counts [low, high], got: " ~ raw_value])) }}
    {%- endif -%}
    {%- set counts = [] -%}
    {%- for item in raw_values -%}
        {%- set resolved = segment_resolve_value(item, where) -%}
        {%- do errors.extend(resolved.errors) -%}
        {%- set count_value = segment_as_whole_number(resolved.value) -%}
        {%- if count_value is none or count_value < 0 -%}
            {%- do errors.append(where ~ ": a count is compared with whole numbers >= 0, got: " ~ item) -%}
            {%- set count_value = 0 -%}
        {%- endif -%}
        {%- do counts.append(count_value) -%}
    {%- endfor -%}

    {#- one column per distinct (what, window) -#}
    {%- set spec = {'filters': filters | sort, 'lower': window.lower, 'upper': window.upper} -%}
    {%- set registry = columns.event_counts if counted == 'events' else columns.order_counts -%}
    {%- if spec not in registry -%}
        {%- do registry.append(spec) -%}
    {%- endif -%}
    {%- set prefix = 'event_counts.event_count_' if counted == 'events' else 'order_counts.order_count_' -%}
    {%- set column = 'coalesce(' ~ prefix ~ (registry.index(spec) + 1) ~ ', 0)' -%}
    {%- set event_types = filters if counted == 'events' else [] -%}
    {%- if op == 'between' -%}
        {{ return(segment_result('(' ~ column ~ ' between ' ~ counts[0] ~ ' and ' ~ counts[1] ~ ')', errors, event_types=event_types)) }}
    {%- endif -%}
    {{ return(segment_result('(' ~ column ~ ' ' ~ ('<>' if op == '!=' else op) ~ ' ' ~ counts[0] ~ ')', errors, event_types=event_types)) }}
{%- endmacro %}

{#- The window of a count as {lower, upper (none: no upper bound), errors}. -#}
{% macro segment_count_window(node, where) -%}
    {%- set errors = [] -%}
    {%- if 'within_days' in node and 'between_days' in node -%}
        {{ return({'lower': 0, 'upper': none, 'errors': [where ~ ": malformed window: give within_days or between_days, not both"]}) }}
    {%- elif 'within_days' in node -%}
        {%- set resolved = segment_resolve_value(node.within_days, where) -%}
        {%- set upper = segment_as_whole_number(resolved.value) -%}
        {%- if upper is none or upper < 1 -%}
            {{ return({'lower': 0, 'upper': 1, 'errors': resolved.errors + [where ~ ": malformed window: within_days must be a whole number of days >= 1, got: " ~ node.within_days]}) }}
        {%- endif -%}
        {{ return({'lower': 0, 'upper': upper, 'errors': resolved.errors}) }}
    {%- elif 'between_days' in node -%}
        {%- set bounds = node.between_days -%}
        {%- if not segment_is_list(bounds) or bounds | length != 2 -%}
            {{ return({'lower': 0, 'upper': none, 'errors': [where ~ ": malformed window: between_days must be [from_days, to_days], got: " ~ bounds]}) }}
        {%- endif -%}
        {%- set low = segment_resolve_value(bounds[0], where) -%}
        {%- set high = segment_resolve_value(bounds[1], where) -%}
        {%- set lower = segment_as_whole_number(low.value) -%}
        {%- set upper = segment_as_whole_number(high.value) -%}
        {%- if lower is none or upper is none or lower < 0 or lower >= upper -%}
            {{ return({'lower': 0, 'upper': none, 'errors': low.errors + high.errors + [where ~ ": malformed window: between_days [from_days, to_days] needs whole numbers with 0 <= from_days < to_days, got: " ~ bounds]}) }}
        {%- endif -%}
        {{ return({'lower': lower, 'upper': upper, 'errors': low.errors + high.errors}) }}
    {%- endif -%}
    {{ return({'lower': 0, 'upper': none, 'errors': []}) }}
{%- endmacro %}

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
