"""Lowering correlation and filter documents: the IR per type, and every diagnostic verbatim.

Each diagnostic row is (case, lowers to IR?, the `correlation:` (or filter document) body,
the rendered diagnostics exactly). The YAML goes through the real loader, so the positions
are the file's lines and columns.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigcc.compiler.ir import And, Logsource, Not, Ref
from sigcc.compiler.loader import load_text
from sigcc.correlation import (Alias, CorrelationCondition, Threshold, lower_correlation,
                               lower_filter, parse_timespan)


def lower(body: str, head: str = "title: T\nid: c1\n"):
    text = head + "correlation:\n" + "".join("    " + line + "\n" for line in body.split("\n"))
    docs, diags = load_text(text, "r.yml")
    assert not diags, diags
    return lower_correlation(docs[0].data, "r.yml")


def lower_f(body: str):
    docs, diags = load_text("title: F\nid: f1\n" + body + "\n", "f.yml")
    assert not diags, diags
    return lower_filter(docs[0].data, "f.yml")


BASE = "rules: [a, b]\ngroup-by: [x]\ntimespan: 5m\n"

VALID = [
    ("type: event_count\n" + BASE + "condition: {gte: 10}", "event_count",
     CorrelationCondition((Threshold("gte", 10),))),
    ("type: value_count\n" + BASE + "condition: {field: User, gt: 3}", "value_count",
     CorrelationCondition((Threshold("gt", 3),), "User")),
    ("type: temporal\n" + BASE.rstrip("\n"), "temporal",
     CorrelationCondition((Threshold("gte", 2),))),  # the spec's default: all rules
    ("type: temporal_ordered\n" + BASE + "condition: {gte: 1}", "temporal_ordered",
     CorrelationCondition((Threshold("gte", 1),))),
    ("type: value_sum\n" + BASE + "condition: {field: Bytes, gt: 1000000, lte: 2.5e6}",
     "value_sum", CorrelationCondition((Threshold("gt", 1000000), Threshold("lte", 2500000)),
                                       "Bytes")),
    ("type: value_avg\n" + BASE + "condition: {field: Bytes, lt: 0.5}", "value_avg",
     CorrelationCondition((Threshold("lt", 0.5),), "Bytes")),
    ("type: value_percentile\n" + BASE + "condition: {field: Bytes, percentile: 95, gte: '100'}",
     "value_percentile", CorrelationCondition((Threshold("gte", 100),), "Bytes", 95.0)),
    ("type: value_median\n" + BASE + "condition: {field: Bytes, eq: 7, neq: 8}", "value_median",
     CorrelationCondition((Threshold("eq", 7), Threshold("neq", 8)), "Bytes")),
]


@pytest.mark.parametrize("body,kind,condition", VALID, ids=[v[1] for v in VALID])
def test_every_type_lowers(body, kind, condition):
    c, diags = lower(body)
    assert not diags, [d.render() for d in diags]
    assert (c.id, c.title, c.type, c.rules, c.group_by, c.timespan) == \
        ("c1", "T", kind, ("a", "b"), ("x",), 300)
    assert c.condition == condition and c.generate is False
    assert (c.span.line, c.rules_span.line, c.rules_span.col) == (1, 5, 5)


def test_metadata_names_aliases_and_scalars():
    c, diags = lower("type: temporal\nrules: failed\ngroup-by: ip\ntimespan: 2h\n"
                     "aliases: {ip: {failed: IpAddress, vpn: src_ip}}",
                     head="title: T\nid: 42\nname: spray\nlevel: high\nstatus: test\n"
                          "tags: [attack.t1110]\ngenerate: true\n")
    assert not diags, [d.render() for d in diags]
    assert (c.id, c.name, c.level, c.status, c.tags) == ("42", "spray", "high", "test",
                                                         ("attack.t1110",))
    assert (c.rules, c.group_by, c.timespan, c.generate) == (("failed",), ("ip",), 7200, True)
    assert c.aliases == (Alias("ip", (("failed", "IpAddress"), ("vpn", "src_ip"))),)
    assert c.condition == CorrelationCondition((Threshold("gte", 1),))


@pytest.mark.parametrize("top,inner,expected", [
    (None, None, False), ("true", None, True), (None, "true", True), ("false", "false", False)])
def test_generate_at_the_top_level_or_under_correlation(top, inner, expected):
    head = "title: T\nid: c1\n" + (f"generate: {top}\n" if top else "")
    c, diags = lower("type: temporal\n" + BASE.rstrip("\n") +
                     (f"\ngenerate: {inner}" if inner else ""), head=head)
    assert not diags and c.generate is expected


def test_generate_given_twice_differently():
    c, diags = lower("type: temporal\n" + BASE + "generate: false",
                     head="title: T\nid: c1\ngenerate: true\n")
    assert c is None
    assert [d.render() for d in diags] == [
        "r.yml:9:5: error[generate-conflict]: generate is given twice with different values "
        "(at the top level and under correlation) (rule c1 'T')\n"
        "  hint: keep one: the spec puts it at the top level"]


@pytest.mark.parametrize("text,seconds", [
    ("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800), ("1w", 604800),
    ("1M", 2629746), ("1y", 31556952), (" 90m ", 5400), ("000010s", 10)])
def test_timespans(text, seconds):
    assert parse_timespan(text) == (seconds, None)


@pytest.mark.parametrize("value,why", [
    ("5", "timespan '5' is not a number and a unit like '5m'"),
    ("5 m", "timespan '5 m' is not a number and a unit like '5m'"),
    ("-5m", "timespan '-5m' is not a number and a unit like '5m'"),
    ("1.5h", "timespan '1.5h' is not a number and a unit like '5m'"),
    ("1" * 13 + "s", f"timespan '{'1' * 13}s' is not a number and a unit like '5m'"),
    ("5D", "timespan '5D': units are lower-case ('d')"),
    ("5Y", "timespan '5Y' has unknown unit 'Y'"),
    ("5min", "timespan '5min' has unknown unit 'min'"),
    (300, "timespan must be a number and a unit like '5m', not a number without a unit"),
    (None, "timespan must be a number and a unit like '5m', not null"),
    (["5m"], "timespan must be a number and a unit like '5m', not a list"),
])
def test_bad_timespans(value, why):
    assert parse_timespan(value) == (None, why)


CORRELATION_DIAGNOSTICS = [
    ('unknown type', False,
     'type: evnt_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:4:5: error[unknown-correlation-type]: correlation type 'evnt_count' is not one of event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile, value_median (rule c1 'T')\n"
     "  hint: did you mean 'event_count'?"),
    ('missing type', False,
     'rules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:3:1: error[correlation-missing-type]: correlation has no type (rule c1 'T')\n"
     "  hint: add 'type:', one of event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile, value_median"),
    ('missing rules', False,
     'type: event_count\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:3:1: error[correlation-missing-rules]: correlation has no rules (rule c1 'T')\n"
     "  hint: add 'rules: [<rule id or name>, ...]'"),
    ('empty rules', False,
     'type: event_count\nrules: []\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:5:5: error[correlation-missing-rules]: rules is an empty list (rule c1 'T')\n"
     '  hint: name at least one rule id or name'),
    ('rules not names', False,
     'type: event_count\nrules: {a: 1}\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:5:5: error[bad-correlation-rules]: rules must be a rule id or name, or a list of them, not a mapping (rule c1 'T')\n"
     "  hint: write e.g. 'rules: [..]'"),
    ('rule entry not a name', False,
     'type: event_count\nrules: [a, [b]]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:5:5: error[bad-correlation-rules]: rules holds a list, not a rule id or name (rule c1 'T')\n"
     '  hint: each entry of rules is a rule id or name'),
    ('duplicate rule', False,
     'type: event_count\nrules: [a, a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:5:5: error[duplicate-rules]: rules names 'a' twice (rule c1 'T')\n"
     '  hint: name each entry once'),
    ('missing group-by', False,
     'type: event_count\nrules: [a]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:3:1: error[correlation-missing-group-by]: correlation has no group-by (rule c1 'T')\n"
     "  hint: add 'group-by: [<field>, ...]': the fields whose values must be equal across the correlated events (every type needs it)"),
    ('missing group-by temporal', False,
     'type: temporal\nrules: [a, b]\ntimespan: 5m',
     "r.yml:3:1: error[correlation-missing-group-by]: correlation has no group-by (rule c1 'T')\n"
     "  hint: add 'group-by: [<field>, ...]': the fields whose values must be equal across the correlated events (every type needs it)"),
    ('missing timespan', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ncondition: {gte: 3}',
     "r.yml:3:1: error[correlation-missing-timespan]: correlation has no timespan (rule c1 'T')\n"
     "  hint: add e.g. 'timespan: 5m'"),
    ('bad timespan unit', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5q\ncondition: {gte: 3}',
     "r.yml:7:5: error[bad-timespan]: timespan '5q' has unknown unit 'q' (rule c1 'T')\n"
     '  hint: write a whole number and one unit: 30s, 5m, 1h, 2d (also w = 7 days, M = 30.44 days, y = 365.24 days); 1h30 is 90m'),
    ('upper-case unit', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5H\ncondition: {gte: 3}',
     "r.yml:7:5: error[bad-timespan]: timespan '5H': units are lower-case ('h') (rule c1 'T')\n"
     '  hint: write a whole number and one unit: 30s, 5m, 1h, 2d (also w = 7 days, M = 30.44 days, y = 365.24 days); 1h30 is 90m'),
    ('zero timespan', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 0s\ncondition: {gte: 3}',
     "r.yml:7:5: error[bad-timespan]: timespan '0s' must be longer than zero (rule c1 'T')\n"
     '  hint: write a whole number and one unit: 30s, 5m, 1h, 2d (also w = 7 days, M = 30.44 days, y = 365.24 days); 1h30 is 90m'),
    ('timespan number', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 300\ncondition: {gte: 3}',
     "r.yml:7:5: error[bad-timespan]: timespan must be a number and a unit like '5m', not a number without a unit (rule c1 'T')\n"
     '  hint: write a whole number and one unit: 30s, 5m, 1h, 2d (also w = 7 days, M = 30.44 days, y = 365.24 days); 1h30 is 90m'),
    ('timespan 1h30', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 1h30m\ncondition: {gte: 3}',
     "r.yml:7:5: error[bad-timespan]: timespan '1h30m' is not a number and a unit like '5m' (rule c1 'T')\n"
     '  hint: write a whole number and one unit: 30s, 5m, 1h, 2d (also w = 7 days, M = 30.44 days, y = 365.24 days); 1h30 is 90m'),
    ('missing condition', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m',
     "r.yml:3:1: error[correlation-missing-condition]: an event_count correlation needs a condition (rule c1 'T')\n"
     "  hint: add e.g. 'condition: {gte: 10}'"),
    ('missing condition value_count', False,
     'type: value_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m',
     "r.yml:3:1: error[correlation-missing-condition]: a value_count correlation needs a condition (rule c1 'T')\n"
     "  hint: add e.g. 'condition: {field: User, gte: 10}'"),
    ('unknown operator', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {ge: 3}',
     "r.yml:8:17: error[unknown-condition-operator]: unknown condition operator 'ge' (rule c1 'T')\n"
     "  hint: write 'gte'"),
    ('symbol operator', False,
     "type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {'>=': 3}",
     "r.yml:8:17: error[unknown-condition-operator]: unknown condition operator '>=' (rule c1 'T')\n"
     "  hint: write 'gte'"),
    ('no operator', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {field: y}',
     "r.yml:8:5: error[condition-no-operator]: condition has no operator (rule c1 'T')\n"
     "  hint: add one of gt, gte, lt, lte, eq, neq, e.g. 'gte: 10'\n"
     "r.yml:8:17: warning[field-ignored]: condition.field is ignored by an event_count correlation (rule c1 'T')\n"
     '  hint: only the value_* types measure a field'),
    ('three operators', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gt: 1, lt: 9, neq: 5}',
     "r.yml:8:5: error[condition-too-many-operators]: condition has 3 operators: one, or two that make a range (rule c1 'T')\n"
     "  hint: write a range as two operators, e.g. '{gt: 100, lte: 200}'; chain correlations for more"),
    ('bad threshold', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: many}',
     "r.yml:8:17: error[bad-threshold]: condition gte: a string ('many') is not a finite number (rule c1 'T')\n"
     "  hint: write e.g. 'gte: 10'"),
    ('boolean threshold', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: true}',
     "r.yml:8:17: error[bad-threshold]: condition gte: a boolean (true) is not a finite number (rule c1 'T')\n"
     "  hint: write e.g. 'gte: 10'"),
    ('condition string', False,
     "type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: 'a and b'",
     "r.yml:8:5: error[bad-condition]: condition must be a mapping like {gte: 10}, not a string ('a and b') (rule c1 'T')\n"
     "  hint: write one or two operators with a number, e.g. 'condition: {gte: 10}'"),
    ('extended temporal', False,
     "type: temporal\nrules: [a, b]\ngroup-by: [x]\ntimespan: 5m\ncondition: 'a and not b'",
     "r.yml:8:5: error[unsupported-extended-condition]: extended (boolean) correlation conditions are not supported (rule c1 'T')\n"
     "  hint: list the rules under 'rules:' and count them, e.g. 'condition: {gte: 2}' (default: all of them)"),
    ('missing field', False,
     'type: value_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:8:5: error[correlation-missing-field]: a value_count correlation needs condition.field: the field whose values are counted distinct (rule c1 'T')\n"
     "  hint: add e.g. 'field: TargetUserName' under condition"),
    ('bad field', False,
     'type: value_sum\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3, field: [y]}',
     "r.yml:8:25: error[bad-condition-field]: condition.field must be a field name, not a list (rule c1 'T')"),
    ('field ignored', True,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3, field: y}',
     "r.yml:8:25: warning[field-ignored]: condition.field is ignored by an event_count correlation (rule c1 'T')\n"
     '  hint: only the value_* types measure a field'),
    ('missing percentile', False,
     'type: value_percentile\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3, field: y}',
     "r.yml:8:5: error[correlation-missing-percentile]: a value_percentile correlation needs condition.percentile (0 to 100) (rule c1 'T')\n"
     "  hint: add e.g. 'percentile: 95' under condition"),
    ('bad percentile', False,
     'type: value_percentile\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3, field: y, percentile: 101}',
     "r.yml:8:35: error[bad-percentile]: condition.percentile must be a number from 0 to 100, not an integer (101) (rule c1 'T')"),
    ('percentile ignored', True,
     'type: value_median\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3, field: y, percentile: 90}',
     "r.yml:8:35: warning[percentile-ignored]: condition.percentile is ignored by a value_median correlation (rule c1 'T')\n"
     '  hint: value_median is the 50th percentile; use value_percentile for others'),
    ('never true', True,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gt: 5, lt: 6}',
     "r.yml:8:5: warning[condition-never-true]: condition 'gt 5 and lt 6' can never hold for an event_count correlation (rule c1 'T')\n"
     '  hint: check the operators: counts are whole numbers of at least 1'),
    ('never true temporal', True,
     'type: temporal\nrules: [a, b]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:8:5: warning[condition-never-true]: condition 'gte 3' can never hold for a temporal correlation (rule c1 'T')\n"
     '  hint: a temporal correlation counts the distinct rules seen: 1 to 2 here'),
    ('aliases not mapping', False,
     'type: temporal\nrules: [a, b]\ngroup-by: [ip]\ntimespan: 5m\naliases: [ip]',
     "r.yml:8:5: error[bad-alias]: aliases must be a mapping of alias name -> {rule: field}, not a list (rule c1 'T')\n"
     "  hint: write 'aliases: {ip: {failed_logon: IpAddress, vpn_login: src_ip}}'"),
    ('alias not mapping', False,
     'type: temporal\nrules: [a, b]\ngroup-by: [ip]\ntimespan: 5m\naliases: {ip: src}',
     "r.yml:8:15: error[bad-alias]: alias 'ip' must map rule names to field names, not a string ('src') (rule c1 'T')\n"
     "  hint: write 'ip: {<rule name>: <field>, ...}'"),
    ('alias field not name', False,
     'type: temporal\nrules: [a, b]\ngroup-by: [ip]\ntimespan: 5m\naliases: {ip: {a: [x]}}',
     "r.yml:8:20: error[bad-alias]: alias 'ip': 'a' must map to a field name, not a list (rule c1 'T')\n"
     "  hint: each entry is '<rule name or id>: <field name>'"),
    ('unused alias', True,
     'type: temporal\nrules: [a, b]\ngroup-by: [ip]\ntimespan: 5m\naliases: {host: {a: Computer, b: hostname}}',
     "r.yml:8:15: warning[unused-alias]: alias 'host' is not used by group-by or the condition's field (rule c1 'T')\n"
     "  hint: add 'host' to group-by, or remove the alias"),
    ('unknown key', True,
     'type: event_count\nrules: [a]\ngroup_by: [x]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:6:5: warning[correlation-unknown-key]: unknown key 'group_by' under correlation is ignored (rule c1 'T')\n"
     "  hint: did you mean 'group-by'?"),
    ('timeframe key', True,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimeframe: 5m\ntimespan: 5m\ncondition: {gte: 3}',
     "r.yml:7:5: warning[correlation-unknown-key]: unknown key 'timeframe' under correlation is ignored (rule c1 'T')\n"
     "  hint: the timespan of a correlation is 'timespan'"),
    ('bad generate', False,
     'type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 5m\ncondition: {gte: 3}\ngenerate: yes please',
     "r.yml:9:5: error[bad-generate]: generate must be true or false, not a string ('yes please') (rule c1 'T')\n"
     "  hint: true: the referred rules report their own matches too; false (the default): only the correlation's"),
]
FILTER_DIAGNOSTICS = [
    ('rules not names', False,
     'logsource: {product: windows}\nfilter:\n  rules: {a: 1}\n  s: {User: x}\n  condition: s',
     "f.yml:5:3: error[bad-filter-rules]: rules must be a rule id or name, or a list of them, not a mapping (rule f1 'F')\n"
     "  hint: write e.g. 'rules: [..]'"),
    ('no logsource', False,
     'filter:\n  rules: [a]\n  selection: {User: x}\n  condition: not selection',
     "f.yml:1:1: error[filter-missing-logsource]: filter has no logsource mapping (rule f1 'F')\n"
     "  hint: a filter applies to rules of its logsource: add e.g. 'logsource: {product: windows, category: process_creation}'"),
    ('filter not mapping', False,
     'logsource: {product: windows}\nfilter: [a]',
     "f.yml:4:1: error[bad-filter]: filter must be a mapping, not a list (rule f1 'F')\n"
     "  hint: write 'filter:' with rules, search identifiers and a condition"),
    ('no rules', False,
     'logsource: {product: windows}\nfilter:\n  selection: {User: x}\n  condition: not selection',
     "f.yml:4:1: error[filter-missing-rules]: filter has no rules (rule f1 'F')\n"
     "  hint: name the rules it applies to, or write 'rules: any' for every rule of its logsource"),
    ('empty rules', True,
     'logsource: {product: windows}\nfilter:\n  rules: []\n  selection: {User: x}\n  condition: not selection',
     "f.yml:5:3: warning[filter-rules-empty]: an empty rules list applies the filter to every rule of its logsource (as pySigma does) (rule f1 'F')\n"
     "  hint: write 'rules: any' to say so"),
    ('no condition', False,
     'logsource: {product: windows}\nfilter:\n  rules: [a]\n  selection: {User: x}',
     "f.yml:4:1: error[filter-missing-condition]: filter has no condition (rule f1 'F')\n"
     "  hint: add e.g. 'condition: not selection' (it is ANDed onto each rule)"),
    ('condition list', False,
     'logsource: {product: windows}\nfilter:\n  rules: [a]\n  selection: {User: x}\n  condition: [not selection]',
     "f.yml:7:3: error[bad-filter-condition]: filter condition must be one string, not a list (rule f1 'F')\n"
     "  hint: write the filter's condition as one expression, e.g. 'not selection'"),
    ('unknown identifier', False,
     'logsource: {product: windows}\nfilter:\n  rules: [a]\n  selection: {User: x}\n  condition: not selecton',
     "f.yml:7:3: error[unknown-identifier]: condition uses 'selecton', which is not a search identifier (rule f1 'F')\n"
     '    not selecton\n'
     '        ^^^^^^^^\n'
     "  hint: did you mean 'selection'?"),
    ('no searches', False,
     'logsource: {product: windows}\nfilter:\n  rules: any\n  condition: not selection',
     "f.yml:4:1: error[filter-no-searches]: filter has no search identifiers (rule f1 'F')\n"
     "  hint: add e.g. 'selection: {User|startswith: adm_}' and 'condition: not selection'"),
    ('bad modifier', False,
     'logsource: {product: windows}\nfilter:\n  rules: any\n  selection: {User|startswth: x}\n  condition: not selection',
     "f.yml:6:15: error[unknown-modifier]: 'User|startswth': unknown modifier 'startswth' (rule f1 'F')\n"
     "  hint: did you mean 'startswith'?"),
    ('logsource key', True,
     'logsource: {product: windows, categry: x}\nfilter:\n  rules: any\n  selection: {User: x}\n  condition: not selection',
     "f.yml:3:31: warning[logsource-key]: unknown logsource key(s) categry (rule f1 'F')\n"
     '  hint: logsource takes product, category, service, definition'),
]


@pytest.mark.parametrize("case,lowers,body,expected", CORRELATION_DIAGNOSTICS,
                         ids=[c[0] for c in CORRELATION_DIAGNOSTICS])
def test_correlation_diagnostics_verbatim(case, lowers, body, expected):
    c, diags = lower(body)
    assert "\n".join(d.render() for d in diags) == expected
    assert (c is not None) is lowers
    assert lowers or any(d.severity == "error" for d in diags)


@pytest.mark.parametrize("case,lowers,body,expected", FILTER_DIAGNOSTICS,
                         ids=[c[0] for c in FILTER_DIAGNOSTICS])
def test_filter_diagnostics_verbatim(case, lowers, body, expected):
    f, diags = lower_f(body)
    assert "\n".join(d.render() for d in diags) == expected
    assert (f is not None) is lowers


def test_filter_lowers_to_ir():
    f, diags = lower_f("logsource: {product: windows, category: process_creation}\n"
                       "filter:\n  rules: [r1, 6f3e2987-db24-4c78-a860-b4f4095a7095]\n"
                       "  admins: {User|startswith: adm_}\n  svc: {User: svc}\n"
                       "  condition: not admins and not svc")
    assert not diags
    assert (f.id, f.title, f.rules) == ("f1", "F", ("r1", "6f3e2987-db24-4c78-a860-b4f4095a7095"))
    assert f.logsource == Logsource("windows", "process_creation")
    assert [s.name for s in f.searches] == ["admins", "svc"]
    assert f.condition == And((Not(Ref("admins")), Not(Ref("svc"))))
    assert f.condition_text == "not admins and not svc"
    any_rule, diags = lower_f("logsource: {product: windows}\nfilter:\n  rules: ANY\n"
                              "  s: {User: x}\n  condition: s")
    assert any_rule.rules is None and not diags


def test_missing_title_and_id():
    docs, _ = load_text("correlation:\n  type: temporal\n  rules: [a]\n  group-by: [x]\n"
                        "  timespan: 1m\nlevel: severe\n", "r.yml")
    c, diags = lower_correlation(docs[0].data, "r.yml", index=3)
    assert c is None
    assert [d.render() for d in diags] == [
        "r.yml:1:1: error[missing-title]: correlation has no title\n"
        "  hint: add 'title: <what the correlation detects>'",
        "r.yml:1:1: warning[missing-id]: correlation has no id\n"
        "  hint: add 'id: <uuid4>' so its matches can name it",
        "r.yml:6:1: error[bad-level]: level 'severe' is not one of informational, low, medium, "
        "high, critical"]
    docs, _ = load_text("title: T\ncorrelation:\n  type: temporal\n  rules: [a]\n"
                        "  group-by: [x]\n  timespan: 1m\n", "r.yml")
    c, _ = lower_correlation(docs[0].data, "r.yml", index=3)
    assert c.id == "r.yml#3"


YAMLISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True),
              st.sampled_from(["5m", "0s", "gte", "event_count", "temporal", "value_sum", "a",
                               "x", "any", "", "not s", "s"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["type", "rules", "group-by", "timespan", "condition",
                                         "aliases", "generate", "field", "percentile", "gte",
                                         "lt", "eq", "a", "x", "s", "selection"]),
                        inner, max_size=5)),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(YAMLISH, YAMLISH)
def test_lowering_never_raises_and_none_means_an_error(correlation, flt):
    from sigcc.compiler.loader import load_data
    for key, value, fn in (("correlation", correlation, lower_correlation),
                           ("filter", flt, lower_filter)):
        docs, diags = load_data({"title": "T", "id": "x", "logsource": {"product": "windows"},
                                 key: value})
        if diags:
            continue
        ir, diags = fn(docs[0].data, "<rule>")
        assert ir is not None or any(d.severity == "error" for d in diags)
        for d in diags:
            d.render()
