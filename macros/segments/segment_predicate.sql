{#-
    A condition of a segment definition as a SQL predicate over int_customers_joined_to_attributes
    (alias `attributes`). Every macro returns a segment_result: {sql, errors, clv_attributes,
    lists, event_types}; a condition with a problem renders false and says why in errors, so
    every problem of the catalog is reported at once. `where` names the segment and the place in
    its definition (e.g. "segment 'x', conditions.all[1]"), for messages.
-#}

{#- all / any / not combine conditions; field, in_list and count are the leaves. `columns` is the
    catalog-wide list of count and list columns (see compile_segment_catalog). -#}
{% macro segment_predicate(node, where, fields, columns) -%}
    {%- if node is not mapping -%}
        {{ return(segment_result('false', [where ~ ": a condition must be a mapping (all, any, not, field, in_list or count), got: " ~ node])) }}
    {%- endif -%}
    {%- set keys = node.keys() | list -%}
    {%- if 'all' in keys or 'any' in keys -%}
        {%- set combinator = 'all' if 'all' in keys else 'any' -%}
        {%- set errors = [] -%}
        {%- if keys | length != 1 -%}
            {%- do errors.append(where ~ ": '" ~ combinator ~ "' must stand alone, with its conditions in its list (found keys: " ~ keys | join(', ') ~ ")") -%}
        {%- endif -%}
        {%- set children = node[combinator] -%}
        {%- if not segment_is_list(children) or children | length == 0 -%}
            {{ return(segment_result('false', errors + [where ~ "." ~ combinator ~ ": must be a non-empty list of conditions"])) }}
        {%- endif -%}
        {%- set parts = [] -%}
        {%- set merged = segment_result('', errors) -%}
        {%- for child in children -%}
            {%- set part = segment_predicate(child, where ~ '.' ~ combinator ~ '[' ~ loop.index0 ~ ']', fields, columns) -%}
            {%- do parts.append(part.sql) -%}
            {%- for key in ['errors', 'clv_attributes', 'lists', 'event_types'] -%}
                {%- do merged[key].extend(part[key]) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- do merged.update({'sql': '(' ~ parts | join(' and ' if combinator == 'all' else ' or ') ~ ')'}) -%}
        {{ return(merged) }}
    {%- elif 'not' in keys -%}
        {%- set negated = segment_predicate(node['not'], where ~ '.not', fields, columns) -%}
        {%- if keys | length != 1 -%}
            {%- do negated.errors.insert(0, where ~ ": 'not' must stand alone (found keys: " ~ keys | join(', ') ~ ")") -%}
        {%- endif -%}
        {%- do negated.update({'sql': '(not ' ~ negated.sql ~ ')'}) -%}
        {{ return(negated) }}
    {%- elif 'field' in keys -%}
        {{ return(segment_field_predicate(node, where, fields)) }}
    {%- elif 'in_list' in keys -%}
        {{ return(segment_list_predicate(node, where, columns)) }}
    {%- elif 'count' in keys -%}
        {{ return(segment_windowed_count(node, where, columns)) }}
    {%- endif -%}
    {{ return(segment_result('false', [where ~ ": unknown condition with keys " ~ keys | join(', ') ~ " (a condition is one of: all, any, not, field, in_list, count)"])) }}
{%- endmacro %}

{#- {field: F, op: OP, value: V}: a customer attribute compared with a value, a var or a field. -#}
{% macro segment_field_predicate(node, where, fields) -%}
    {%- set errors = [] -%}
    {%- for key in node.keys() if key not in ['field', 'op', 'value'] -%}
        {%- do errors.append(where ~ ": unknown key '" ~ key ~ "' in a field condition (allowed: field, op, value)") -%}
    {%- endfor -%}
    {%- set field = node.field -%}
    {%- if field not in fields -%}
        {{ return(segment_result('false', errors + [where ~ ": unknown field '" ~ field ~ "' (known fields: " ~ fields.keys() | sort | join(', ') ~ "; a field is a column of int_customers_joined_to_attributes with a meta segment_field)"])) }}
    {%- endif -%}
    {%- set field_type = fields[field].type -%}
    {%- set clv = fields[field].clv | list -%}
    {%- set column = 'attributes.' ~ field -%}
    {%- set op = node.get('op') -%}
    {%- set operators = segment_operators() -%}
    {%- if op not in operators.number -%}
        {{ return(segment_result('false', errors + [where ~ ": unknown operator '" ~ op ~ "' (allowed: " ~ operators.number | join(', ') ~ ")"], clv)) }}
    {%- elif op not in operators[field_type] -%}
        {{ return(segment_result('false', errors + [where ~ ": operator '" ~ op ~ "' does not apply to the " ~ field_type ~ " field '" ~ field ~ "' (allowed: " ~ operators[field_type] | join(', ') ~ ")"], clv)) }}
    {%- endif -%}

    {%- if op in ['is_null', 'is_not_null'] -%}
        {%- if 'value' in node -%}
            {%- do errors.append(where ~ ": operator '" ~ op ~ "' takes no value") -%}
        {%- endif -%}
        {{ return(segment_result('(' ~ column ~ (' is null' if op == 'is_null' else ' is not null') ~ ')', errors, clv)) }}
    {%- endif -%}
    {%- if 'value' not in node -%}
        {{ return(segment_result('false', errors + [where ~ ": operator '" ~ op ~ "' needs a value"], clv)) }}
    {%- endif -%}

    {%- if op in ['between', 'in', 'not_in'] -%}
        {%- set values = node.value -%}
        {%- set needed = 'two values [low, high]' if op == 'between' else 'a non-empty list of values' -%}
        {%- if not segment_is_list(values) or values | length == 0 or (op == 'between' and values | length != 2) -%}
            {{ return(segment_result('false', errors + [where ~ ": operator '" ~ op ~ "' needs " ~ needed ~ ", got: " ~ values], clv)) }}
        {%- endif -%}
        {%- set literals = [] -%}
        {%- set resolved = [] -%}
        {%- for item in values -%}
            {%- set value = segment_resolve_value(item, where) -%}
            {%- set literal = segment_literal_sql(value.value, field_type, where) -%}
            {%- do errors.extend(value.errors + literal.errors) -%}
            {%- do resolved.append(value.value) -%}
            {%- do literals.append(literal.sql) -%}
        {%- endfor -%}
        {%- if op == 'between' -%}
            {%- if segment_is_number(resolved[0]) and segment_is_number(resolved[1]) and (resolved[0] | float) > (resolved[1] | float) -%}
                {%- do errors.append(where ~ ": between needs low <= high, got: " ~ values) -%}
            {%- endif -%}
            {{ return(segment_result('coalesce(' ~ column ~ ' between ' ~ literals[0] ~ ' and ' ~ literals[1] ~ ', false)', errors, clv)) }}
        {%- endif -%}
        {{ return(segment_result('coalesce(' ~ column ~ (' in (' if op == 'in' else ' not in (') ~ literals | join(', ') ~ '), false)', errors, clv)) }}
    {%- endif -%}

    {%- set sql_operator = '<>' if op == '!=' else op -%}
    {%- set value = node.value -%}
    {%- if value is mapping and value.keys() | list == ['field'] -%}
        {%- set other = value.field -%}
        {%- if other not in fields -%}
            {{ return(segment_result('false', errors + [where ~ ": value names an unknown field '" ~ other ~ "' (known fields: " ~ fields.keys() | sort | join(', ') ~ ")"], clv)) }}
        {%- elif fields[other].type != field_type -%}
            {{ return(segment_result('false', errors + [where ~ ": field '" ~ field ~ "' (" ~ field_type ~ ") cannot be compared with field '" ~ other ~ "' (" ~ fields[other].type ~ ")"], clv)) }}
        {%- endif -%}
        {{ return(segment_result('coalesce(' ~ column ~ ' ' ~ sql_operator ~ ' attributes.' ~ other ~ ', false)', errors, clv + fields[other].clv)) }}
    {%- endif -%}
    {%- set resolved = segment_resolve_value(value, where) -%}
    {%- set literal = segment_literal_sql(resolved.value, field_type, where) -%}
    {{ return(segment_result('coalesce(' ~ column ~ ' ' ~ sql_operator ~ ' ' ~ literal.sql ~ ', false)', errors + resolved.errors + literal.errors, clv)) }}
{%- endmacro %}

{#- {in_list: LIST}: a current member of a list (static membership from the raw list_memberships).
    Each list is one column of list_memberships_current, in columns.lists. -#}
{% macro segment_list_predicate(node, where, columns) -%}
    {%- set errors = [] -%}
    {%- for key in node.keys() if key != 'in_list' -%}
        {%- do errors.append(where ~ ": unknown key '" ~ key ~ "' in a list condition (write {in_list: LIST_ID}; negate with not)") -%}
    {%- endfor -%}
    {%- set resolved = segment_resolve_value(node.in_list, where) -%}
    {%- do errors.extend(resolved.errors) -%}
    {%- set list_id = resolved.value -%}
    {%- if list_id is not string or list_id | trim == '' -%}
        {{ return(segment_result('false', errors + [where ~ ": in_list needs a list id (text or {var: name}), got: " ~ node.in_list])) }}
    {%- endif -%}
    {%- if list_id not in columns.lists -%}
        {%- do columns.lists.append(list_id) -%}
    {%- endif -%}
    {%- set position = columns.lists.index(list_id) + 1 -%}
    {{ return(segment_result('coalesce(list_memberships_current.in_list_' ~ position ~ ', false)', errors, lists=[list_id])) }}
{%- endmacro %}
