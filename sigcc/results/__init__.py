"""What `sigcc scan` makes of its matches, so an analyst can read them (issue 13).

    details.py   per match: which fields made each fired search true (a recording walk of
                 the rule's IR, run only for matches), the rule's description, false
                 positives and ATT&CK tactics/techniques (`RuleDocs`, `Describer`)
    filters.py   which rules and events a scan looks at: level, status, tags, rule id,
                 event time (`RuleFilter`, `TimeRange`), applied before matching
    rules.py     the rules of a scan: filters and scan-time pipelines applied to the IR
                 before the module is written, or to a prebuilt module's rules at load
    formats.py   the match writers: jsonl (default), csv, table, timeline

The per-event path of a scan is untouched for events that match nothing: everything here
runs after a rule has fired, or once when the rules are loaded.
"""
