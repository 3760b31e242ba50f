"""Rules whose Windows logsource maps to no Channel/EventID (issue 9, item 5).

Such a rule (SigmaHQ's file_access and file_rename categories, an unknown category or service)
applied to every Windows event. Now, by Options.unmapped_logsource:
  fields (default)  Windows events holding one of the logsource's fields: the table's list for
                    it (sigcc/data/windows_logsources.yml `unmapped`), else the fields the
                    rule's detection names; a detection naming none leaves every Windows event
  all               every Windows event (the old behaviour)
  none              no event
with the `unmapped-logsource` warning in every mode, naming the fields. The property checks
the matcher, the interpreter and the SQLite query against that definition written out here.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.compiler.dispatch import allows, dispatch_spec
from sigcc.compiler.logsources import logsource_condition, windows_table
from sigcc.query import to_query
from sigcc.runtime.interpreter import Interpreter
from tests.conftest import SIGMA, needs_shared, rule_yaml
from tests.query import corpus

TABLE_FIELDS = {cat: fields for cat, fields in windows_table()["unmapped"]["categories"].items()}
HINT = ("add the channel to sigcc/data/windows_logsources.yml, or choose with "
        "--unmapped-logsource fields|all|none (or --no-logsource)")


def _compile(text: str, **options):
    result = sigcc.load_rules([text], sigcc.Options(**options))
    assert not result.errors, [d.render() for d in result.errors]
    return result


# --- table: key, condition and warning per logsource and mode ----------------------------

DET = "    sel:\n        Foo: x\n    filter:\n        Bar|contains: y\n    condition: sel and not filter"
ROWS = [
    # (logsource, mode, key, warning after "...: ")
    ("product: windows\n    category: file_access", "fields",
     'windows/fields=["CreateAttributes", "CreateOptions", "FileName", "FileObject", "Irp", '
     '"IssuingThreadId", "ShareAccess"]',
     "windows category 'file_access' has no Channel/EventID mapping; the rule applies only to "
     "Windows events holding one of the fields the logsource table lists for it: "
     "CreateAttributes, CreateOptions, FileName, FileObject, Irp, IssuingThreadId, ShareAccess"),
    ("product: windows\n    category: file_rename", "fields",
     'windows/fields=["ExtraInformation", "FileKey", "FileObject", "InfoClass", "Irp", '
     '"IssuingThreadId"]',
     "windows category 'file_rename' has no Channel/EventID mapping; the rule applies only to "
     "Windows events holding one of the fields the logsource table lists for it: "
     "ExtraInformation, FileKey, FileObject, InfoClass, Irp, IssuingThreadId"),
    ("product: windows\n    category: no_such", "fields", 'windows/fields=["Bar", "Foo"]',
     "windows category 'no_such' has no Channel/EventID mapping; the rule applies only to "
     "Windows events holding one of the fields its detection names: Bar, Foo"),
    ("product: windows\n    service: no_such", "fields", 'windows/fields=["Bar", "Foo"]',
     "windows service 'no_such' has no Channel mapping; the rule applies only to Windows "
     "events holding one of the fields its detection names: Bar, Foo"),
    ("product: windows\n    category: process_creation\n    service: no_such", "fields",
     'windows/fields=["Bar", "Foo"]',
     "windows category 'process_creation' has no mapping for service 'no_such'; the rule "
     "applies only to Windows events holding one of the fields its detection names: Bar, Foo"),
    ("product: windows\n    category: file_access", "all", "windows",
     "windows category 'file_access' has no Channel/EventID mapping; the rule applies to every "
     "Windows event (unmapped_logsource 'all')"),
    ("product: windows\n    category: file_access", "none", "none",
     "windows category 'file_access' has no Channel/EventID mapping; the rule applies to no "
     "event (unmapped_logsource 'none')"),
]


@pytest.mark.parametrize("logsource, mode, key, warning", ROWS)
def test_key_and_warning(logsource, mode, key, warning):
    result = _compile(rule_yaml(DET, logsource=logsource), unmapped_logsource=mode)
    assert result.rules[0].logsource_key == key
    (w,) = [d for d in result.diagnostics if d.code == "unmapped-logsource"]
    assert (w.severity, w.message, w.hint, w.span.line) == ("warning", warning, HINT, 5)
    assert allows(dispatch_spec(logsource_condition(key)), "security", "4688") == (mode != "none")


def test_a_detection_of_keywords_names_no_field():
    text = rule_yaml("    keywords:\n        - evil\n    condition: keywords",
                     logsource="product: windows\n    category: no_such")
    result = _compile(text)
    assert result.rules[0].logsource_key == "windows"
    assert [d.message for d in result.diagnostics] == [
        "windows category 'no_such' has no Channel/EventID mapping; its detection names no "
        "field, so the rule applies to every Windows event"]


def test_mapped_logsources_are_unchanged():
    for ls, key in [("product: windows\n    category: process_creation", "windows/category=process_creation"),
                    ("product: windows", "windows"), ("product: linux", "other")]:
        result = _compile(rule_yaml(DET, logsource=ls))
        assert result.rules[0].logsource_key == key and not result.diagnostics


EVENTS = [  # (event, fits file_access by its fields)
    ({"Channel": "Microsoft-Windows-Kernel-File/Analytic", "FileObject": "0xffff", "FileName": "a"}, True),
    ({"Channel": "Aurora", "FileName": "C:\\Users\\u\\AppData\\Roaming\\Microsoft\\Protect\\CREDHIST"}, True),
    ({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 11, "TargetFilename": "x"}, False),
    ({"FileObject": "0xffff", "FileName": "a"}, False),  # not a Windows event (no Channel)
    ({"Channel": "Aurora", "FileName": None, "Irp": None}, False),  # null is absent
]


@pytest.mark.parametrize("mode", ["fields", "all", "none"])
def test_which_events_a_file_access_rule_applies_to(mode):
    text = rule_yaml("    sel:\n        Image: 'x'\n    condition: not sel",
                     logsource="product: windows\n    category: file_access")
    rs = sigcc.compile([text], sigcc.Options(unmapped_logsource=mode))
    got = [bool(rs.match(ev)) for ev, _ in EVENTS]
    want = {"fields": [fits for _, fits in EVENTS],
            "all": ["Channel" in ev for ev, _ in EVENTS],
            "none": [False] * len(EVENTS)}[mode]
    assert got == want


def test_option_checked_recorded_and_a_build_time_switch(tmp_path):
    with pytest.raises(ValueError, match="unmapped_logsource must be 'fields', 'all' or 'none'"):
        sigcc.Options(unmapped_logsource="some")
    text = rule_yaml(DET, logsource="product: windows\n    category: file_access")
    src, _ = sigcc.build_module([text], sigcc.Options(unmapped_logsource="all"))
    assert "'unmapped_logsource': 'all'" in src
    default, _ = sigcc.build_module([text])
    assert "unmapped_logsource" not in default  # default modules stay as they were
    from sigcc.cli import main
    module, events = tmp_path / "m.py", tmp_path / "e.jsonl"
    module.write_text(default, encoding="utf-8")
    events.write_text(json.dumps({"Channel": "x", "Foo": "x"}) + "\n", encoding="utf-8")
    assert main(["scan", "--rules", str(module), "--unmapped-logsource", "all", "--no-summary",
                 str(events)]) == 1
    assert main(["scan", "--rules", str(module), "--unmapped-logsource", "fields",
                 "--no-summary", str(events)]) == 0


# --- the class: matcher, interpreter and SQL against the definition ------------------------

POOL = ("FileName", "FileObject", "Irp", "SourceFilename", "TargetFilename", "Foo", "Image")
LOGSOURCES = ("category: file_access", "category: file_rename", "category: no_such",
              "service: no_such", "category: process_creation\n    service: no_such")
ITEMS = ("{f}: x", "{f}|contains: x", "{f}: null", "{f}|exists: true")


@st.composite
def cases(draw):
    fields = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True))
    items = "".join(f"        {draw(st.sampled_from(ITEMS)).format(f=f)}\n" for f in fields)
    cond = draw(st.sampled_from(["sel", "not sel"]))
    logsource = "product: windows\n    " + draw(st.sampled_from(LOGSOURCES))
    events = draw(st.lists(st.fixed_dictionaries(
        {}, optional={f: st.sampled_from(["x", "ax", None]) for f in POOL + ("Channel",)}),
        min_size=1, max_size=6))
    return rule_yaml(f"    sel:\n{items}    condition: {cond}", logsource=logsource), fields, events


def applies(mode: str, text: str, detection_fields: list, ev: dict) -> bool:
    """The definition, written out: which events an unmapped logsource's rule applies to."""
    if mode == "none" or ev.get("Channel") is None:
        return False
    if mode == "all":
        return True
    category = text.split("category: ")[1].split("\n")[0] if "category: " in text else None
    listed = TABLE_FIELDS.get(category) if "service: no_such" not in text else None
    return any(ev.get(f) is not None for f in (listed or detection_fields))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), mode=st.sampled_from([None, "fields", "all", "none"]))
def test_matcher_interpreter_and_sql_apply_the_definition(case, mode):
    text, fields, events = case
    options = sigcc.Options(**({"unmapped_logsource": mode} if mode else {}))
    mode = mode or "fields"
    rs = sigcc.compile([text], options)
    detection = sigcc.compile([text], sigcc.Options(logsource="ignore"))
    want = {i for i, ev in enumerate(events)
            if applies(mode, text, fields, ev) and detection.match(ev)}
    assert {i for i, ev in enumerate(events) if rs.match(ev)} == want
    rules = sigcc.load_rules([text], options).rules
    assert {i for i, ev in enumerate(events) if Interpreter(rules, options).match(ev)} == want
    table = corpus.make_table(events, corpus.rule_fields(rules))
    q = to_query(rules, target="sqlite", options=options)[0].query
    db = corpus.sqlite_db(table)
    assert {r[0] for r in db.execute(f'SELECT "{corpus.ID}" FROM ({q}) AS q')} == want, q


# --- the real rules -----------------------------------------------------------------------

@needs_shared
def test_sigmahq_rules_with_unmapped_logsources():
    """SigmaHQ's rules/ has 8 (file_access 7, file_rename 1): each warned about, each limited
    to its category's fields; a Sysmon event with the ransomware rule's values no longer
    fires it, a Kernel-File RenamePath event does (it did both before)."""
    result = sigcc.load_rules([str(SIGMA / "rules")])
    warned = {d.rule_id: d for d in result.diagnostics if d.code == "unmapped-logsource"}
    assert len(warned) == 8
    by_id = {r.meta.id: r for r in result.rules}
    for rid, d in warned.items():
        cat = by_id[rid].meta.logsource.category
        assert by_id[rid].logsource_key == "windows/fields=" + json.dumps(sorted(TABLE_FIELDS[cat]))
        assert d.span.file.endswith(".yml") and d.span.line > 0 and cat in d.message
    assert sorted(by_id[r].meta.logsource.category for r in warned) == ["file_access"] * 7 + ["file_rename"]
    path = str(SIGMA / "rules" / "windows" / "file" / "file_rename" / "file_rename_win_ransomware.yml")
    values = {"SourceFilename": "C:\\Users\\u\\report.docx",
              "TargetFilename": "C:\\Users\\u\\report.docx.locked"}
    sysmon = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 11, **values}
    kernel = {"Channel": "Microsoft-Windows-Kernel-File/Analytic", "EventID": 27,
              "FileObject": "0xffffa0", "FileKey": "0xffffb0", **values}
    default = sigcc.compile([path])
    old = sigcc.compile([path], sigcc.Options(unmapped_logsource="all"))
    assert [bool(default.match(sysmon)), bool(default.match(kernel))] == [False, True]
    assert [bool(old.match(sysmon)), bool(old.match(kernel))] == [True, True]
