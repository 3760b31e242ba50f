"""Value modifiers and value semantics end to end (SIGMA_SEMANTICS.md §2, §3, §8).

Each row is one search identifier `sel` (YAML text of its value), compiled with
`Options(logsource="ignore")`, and flat or nested events that must / must not match.
"""
from __future__ import annotations

import base64
import textwrap

import pytest

import sigcc
from sigcc.compiler.build import load_rules
from tests.conftest import rule_yaml

IGNORE = sigcc.Options(logsource="ignore")
WINDASHES = ("-", "/", "\u2013", "\u2014", "\u2015")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def blobs(value: bytes, unit: bytes = b"a") -> list[str]:
    """`value` inside longer base64 texts at all three alignments (prefixes of 0, 1, 2 units).

    The unit differs from the space base64offset encodes with in the bits that share a base64
    character with the value, so a wrong cut at the start of a variant shows.
    """
    return [b64(unit * k + value + b" and more text after it") for k in range(3)]


def blob_misses(value: bytes, unit: bytes = b"a") -> list[str]:
    """The same texts with the value's middle byte changed: must never match.

    (The first and last bytes share base64 characters with their neighbours, so base64offset
    leaves some of their bits out; the middle byte is covered at every alignment.)
    """
    mid = len(value) // 2
    return blobs(value[:mid] + bytes([value[mid] ^ 0xFF]) + value[mid + 1:], unit)


def ev(field: str, *values) -> list[dict]:
    return [{field: v} for v in values]


def _sel(value_yaml: str) -> str:
    return "    sel:\n" + textwrap.indent(textwrap.dedent(value_yaml).strip("\n"), " " * 8) + \
        "\n    condition: sel"


# (id, YAML of `sel`, events that match, events that do not, options)
CASES = [
    # --- plain values, escaping, case ----------------------------------------------------
    ("plain-eq-case-insensitive", r"Image: 'C:\Windows\System32\cmd.exe'",
     ev("Image", "C:\\Windows\\System32\\cmd.exe", "c:\\windows\\system32\\CMD.EXE"),
     ev("Image", "C:\\Windows\\System32\\cmd.exe.bak", "x C:\\Windows\\System32\\cmd.exe") + [{}],
     IGNORE),
    ("escaped-star-is-literal", r"Path: 'C:\Windows\*'",
     ev("Path", "C:\\Windows*", "c:\\windows*"),
     ev("Path", "C:\\Windows\\System32", "C:\\Windows", "C:\\Windowsx"), IGNORE),
    ("double-backslash-then-wildcard", r"Path: 'C:\Windows\\*'",
     ev("Path", "C:\\Windows\\System32", "C:\\Windows\\"),
     ev("Path", "C:\\Windows", "C:\\Windowsx", "C:\\Windows*"), IGNORE),
    ("triple-backslash-literal-star", r"Path: 'a\\\*'",
     ev("Path", "a\\*"), ev("Path", "a\\", "a\\x", "a*"), IGNORE),
    ("trailing-lone-backslash", r"Path: 'C:\Temp\'",
     ev("Path", "C:\\Temp\\"), ev("Path", "C:\\Temp", "C:\\Temp\\x"), IGNORE),
    ("escaped-question", r"Name: '\?x'", ev("Name", "?x"), ev("Name", "ax", "x"), IGNORE),
    ("backslash-before-letter", r"Path: 'a\b'", ev("Path", "a\\b", "A\\B"), ev("Path", "ab", "a\\\\b"),
     IGNORE),
    ("question-is-one-char", "Name: 'a?c'", ev("Name", "abc", "A-C"), ev("Name", "ac", "abbc"), IGNORE),
    ("star-in-middle", "Name: 'a*c'", ev("Name", "ac", "abbbc", "a\nc"), ev("Name", "acx", "xac"),
     IGNORE),
    # --- contains / startswith / endswith ------------------------------------------------
    ("contains", "CommandLine|contains: 'ping'",
     ev("CommandLine", "cmd /c PING 8.8.8.8", "ping"),
     ev("CommandLine", "pin g", None) + [{}], IGNORE),
    ("contains-list-is-or", "CommandLine|contains: [foo, bar]",
     ev("CommandLine", "xfoox", "xBARx"), ev("CommandLine", "fo ba"), IGNORE),
    ("contains-keeps-inner-wildcards", "CommandLine|contains: 'a*b'",
     ev("CommandLine", "xxaYYbxx", "ab"), ev("CommandLine", "ba", "a"), IGNORE),
    ("startswith", r"Image|startswith: 'C:\Windows\'",
     ev("Image", "c:\\windows\\system32\\cmd.exe", "C:\\Windows\\"),
     ev("Image", "D:\\C:\\Windows\\x", "C:\\Windows"), IGNORE),
    ("endswith", r"Image|endswith: '\cmd.exe'",
     ev("Image", "C:\\Windows\\System32\\CMD.EXE", "\\cmd.exe"),
     ev("Image", "C:\\cmd.exe.bak", "C:\\xcmd.exe"), IGNORE),
    ("endswith-with-wildcard", r"Image|endswith: '\\*.exe'",
     ev("Image", "C:\\a\\b.EXE"), ev("Image", "C:\\a\\b.exe.txt", "b.exe"), IGNORE),
    # --- all -------------------------------------------------------------------------------
    ("contains-all", "CommandLine|contains|all: ['-nop', 'hidden']",
     ev("CommandLine", "powershell -NoP -w HIDDEN"),
     ev("CommandLine", "powershell -nop", "powershell -w hidden"), IGNORE),
    ("all-with-one-value", "CommandLine|all: ['x']", ev("CommandLine", "X"), ev("CommandLine", "xx"),
     IGNORE),
    ("keyword-list-all", "'|all':\n    - mimikatz\n    - sekurlsa",
     [{"a": "mimikatz", "b": "SEKURLSA::logonpasswords"}, {"a": "Invoke-Mimikatz sekurlsa::x"}],
     [{"a": "mimikatz"}, {"b": "sekurlsa"}], IGNORE),
    # --- base64, base64offset, utf16 family --------------------------------------------------
    ("base64", "CommandLine|base64: 'ping'", ev("CommandLine", b64(b"ping")),
     ev("CommandLine", "ping", b64(b"ping host")), IGNORE),
    ("base64-contains", "CommandLine|base64|contains: 'http://'",
     ev("CommandLine", "x " + b64(b"http://") + " y"), ev("CommandLine", b64(b" http://")), IGNORE),
    ("base64offset-contains", "CommandLine|base64offset|contains: 'http://'",
     ev("CommandLine", *blobs(b"http://"), *(f"powershell -e {x}" for x in blobs(b"http://"))),
     ev("CommandLine", "http://", *blob_misses(b"http://")), IGNORE),
    ("base64offset-contains-list", "CommandLine|base64offset|contains: [http://, ftp://]",
     ev("CommandLine", *blobs(b"http://"), *blobs(b"ftp://")),
     ev("CommandLine", *blob_misses(b"ftp://")), IGNORE),
    ("wide-base64offset", "CommandLine|wide|base64offset|contains: 'ping'",
     ev("CommandLine", *blobs("ping".encode("utf-16le"), "a".encode("utf-16le"))),
     ev("CommandLine", *blobs(b"ping"), *blob_misses("ping".encode("utf-16le"),
                                                    "a".encode("utf-16le"))), IGNORE),
    ("utf16le-base64offset", "CommandLine|utf16le|base64offset|contains: 'ping'",
     ev("CommandLine", *blobs("ping".encode("utf-16le"), "a".encode("utf-16le"))),
     ev("CommandLine", b64("ping".encode("utf-16be")), b64(b"ping"),
        *blob_misses("ping".encode("utf-16le"), "a".encode("utf-16le"))), IGNORE),
    ("utf16be-base64offset", "CommandLine|utf16be|base64offset|contains: 'ping'",
     ev("CommandLine", *blobs("ping".encode("utf-16be"), "a".encode("utf-16be"))),
     ev("CommandLine", b64("ping".encode("utf-16le")), b64(b"ping"),
        *blob_misses("ping".encode("utf-16be"), "a".encode("utf-16be"))), IGNORE),
    ("utf16-bom-base64offset", "CommandLine|utf16|base64offset|contains: 'ping'",
     ev("CommandLine", *blobs(b"\xff\xfe" + "ping".encode("utf-16le"))),
     ev("CommandLine", *blobs("ping".encode("utf-16le"), "a".encode("utf-16le"))), IGNORE),
    ("utf16-is-little-endian-with-bom", "CommandLine|utf16|base64: 'ping'",
     ev("CommandLine", b64("ping".encode("utf-16"))),
     ev("CommandLine", b64("ping".encode("utf-16le")), b64("ping".encode("utf-16be"))), IGNORE),
    # --- windash -----------------------------------------------------------------------------
    ("windash-all-five-dashes", "CommandLine|windash|contains: ' -enc '",
     ev("CommandLine", *(f"powershell {d}enc ZQBjAGgAbwA=" for d in WINDASHES)),
     ev("CommandLine", "powershell enc x", "powershell _enc x", "powershell \\enc x"), IGNORE),
    ("windash-two-dashes", "CommandLine|windash|contains: '-a -b'",
     ev("CommandLine", "x -a /b", "x \u2015a \u2013b", "x /a -b"), ev("CommandLine", "x -a b"), IGNORE),
    ("windash-leaves-inner-hyphen", "CommandLine|windash|contains: 'a-b'",
     ev("CommandLine", "xa-bx"), ev("CommandLine", "xa/bx", "xa\u2013bx"), IGNORE),
    # --- re ----------------------------------------------------------------------------------
    ("re-case-sensitive", "CommandLine|re: '^abc'", ev("CommandLine", "abcdef"),
     ev("CommandLine", "ABCdef", "xabc"), IGNORE),
    ("re-is-search", "CommandLine|re: 'b.d'", ev("CommandLine", "abcde"), ev("CommandLine", "bd"),
     IGNORE),
    ("re-i", "CommandLine|re|i: '^abc'", ev("CommandLine", "ABCdef", "abc"), ev("CommandLine", "xabc"),
     IGNORE),
    ("re-ignorecase", "CommandLine|re|ignorecase: '^abc'", ev("CommandLine", "aBc"),
     ev("CommandLine", "ab"), IGNORE),
    ("re-without-m", "CommandLine|re: '^two$'", ev("CommandLine", "two"),
     ev("CommandLine", "one\ntwo\nthree"), IGNORE),
    ("re-m", "CommandLine|re|m: '^two$'", ev("CommandLine", "one\ntwo\nthree"),
     ev("CommandLine", "one\ntwox\nthree"), IGNORE),
    ("re-multiline", "CommandLine|re|multiline: '^two$'", ev("CommandLine", "one\ntwo"),
     ev("CommandLine", "one\nTWO"), IGNORE),
    ("re-without-s", "CommandLine|re: 'a.b'", ev("CommandLine", "axb"), ev("CommandLine", "a\nb"),
     IGNORE),
    ("re-s", "CommandLine|re|s: 'a.b'", ev("CommandLine", "a\nb"), ev("CommandLine", "a\n\nb"), IGNORE),
    ("re-dotall", "CommandLine|re|dotall: 'a.b'", ev("CommandLine", "a\nb"), ev("CommandLine", "ab"),
     IGNORE),
    ("re-i-m-s", "CommandLine|re|i|m|s: '^A.B$'", ev("CommandLine", "x\na\nb\ny"),
     ev("CommandLine", "xa\nb"), IGNORE),
    ("re-list", "CommandLine|re: ['^a', 'z$']", ev("CommandLine", "ab", "yz"), ev("CommandLine", "za"),
     IGNORE),
    # --- cased -------------------------------------------------------------------------------
    ("cased", "Image|cased: 'CMD.exe'", ev("Image", "CMD.exe"), ev("Image", "cmd.exe", "CMD.EXE"),
     IGNORE),
    ("cased-endswith", r"Image|endswith|cased: '\CMD.exe'", ev("Image", "C:\\x\\CMD.exe"),
     ev("Image", "C:\\x\\cmd.exe"), IGNORE),
    ("cased-contains-wildcard", "Image|contains|cased: 'A?C'", ev("Image", "xAbCx"), ev("Image", "xabcx"),
     IGNORE),
    # --- cidr --------------------------------------------------------------------------------
    ("cidr-ipv4", "SourceIp|cidr: '10.0.0.0/8'",
     ev("SourceIp", "10.1.2.3", "10.0.0.0", "10.255.255.255"),
     ev("SourceIp", "100.1.2.3", "11.0.0.1", "9.255.255.255", "::1", "not an ip", "", "10.1.2",
        "10.1.2.3.4", 167838211, None) + [{}], IGNORE),
    ("cidr-ipv4-list", "SourceIp|cidr: ['10.0.0.0/8', '192.168.0.0/16']",
     ev("SourceIp", "10.9.9.9", "192.168.1.1"), ev("SourceIp", "192.169.0.1", "172.16.0.1"), IGNORE),
    ("cidr-ipv6", "SourceIp|cidr: 'fe80::/10'", ev("SourceIp", "fe80::1", "FE80::ABCD:1", "febf::1"),
     ev("SourceIp", "fec0::1", "fe00::1", "10.0.0.1", "fe80::zz", "fe80"), IGNORE),
    ("cidr-host", "SourceIp|cidr: '192.168.1.5/32'", ev("SourceIp", "192.168.1.5"),
     ev("SourceIp", "192.168.1.6"), IGNORE),
    ("cidr-list-valued-field", "SourceIp|cidr: '10.0.0.0/8'", ev("SourceIp", ["1.1.1.1", "10.0.0.5"]),
     ev("SourceIp", ["1.1.1.1", "100.0.0.5"], []), IGNORE),
    # --- exists / null / empty -----------------------------------------------------------------
    ("exists-true", "Foo|exists: true", ev("Foo", "", "x", 0, False, []),
     ev("Foo", None) + [{}, {"foo": "x"}], IGNORE),
    ("exists-false", "Foo|exists: false", ev("Foo", None) + [{}, {"foo": "x"}],
     ev("Foo", "", "x", 0), IGNORE),
    ("null", "Foo: null", ev("Foo", None) + [{}], ev("Foo", "", "x", 0, "null"), IGNORE),
    ("empty-string", "Foo: ''", ev("Foo", ""), ev("Foo", None, "x", " ") + [{}], IGNORE),
    # --- expand --------------------------------------------------------------------------------
    ("expand", "User|expand: '%admins%'", ev("User", "alice", "BOB"), ev("User", "carol", "xalice"),
     sigcc.Options(logsource="ignore", placeholders={"admins": ["alice", "bob"]})),
    ("expand-inside-text", r"Path|expand: 'C:\Users\%user%\AppData'",
     ev("Path", "C:\\Users\\alice\\AppData"), ev("Path", "C:\\Users\\bob\\AppData"),
     sigcc.Options(logsource="ignore", placeholders={"user": "alice"})),
    ("contains-expand", "User|contains|expand: '%admins%'",
     ev("User", "DOMAIN\\alice", "bob@corp"), ev("User", "carol"),
     sigcc.Options(logsource="ignore", placeholders={"admins": ["alice", "bob"]})),
    ("expand-contains", "User|expand|contains: '%admins%'",
     ev("User", "DOMAIN\\alice", "bob@corp"), ev("User", "carol"),
     sigcc.Options(logsource="ignore", placeholders={"admins": ["alice", "bob"]})),
    # --- fieldref ------------------------------------------------------------------------------
    ("fieldref-eq", "ParentUser|fieldref: User",
     [{"ParentUser": "alice", "User": "alice"}, {"ParentUser": "Alice", "User": "ALICE"}],
     [{"ParentUser": "alice", "User": "bob"}, {"ParentUser": "alice"}, {"User": "alice"}, {}], IGNORE),
    ("fieldref-cased", "ParentUser|fieldref|cased: User", [{"ParentUser": "Alice", "User": "Alice"}],
     [{"ParentUser": "Alice", "User": "alice"}], IGNORE),
    ("fieldref-contains", "CommandLine|fieldref|contains: User",
     [{"CommandLine": "runas /user:ALICE x", "User": "alice"}],
     [{"CommandLine": "runas /user:bob x", "User": "alice"}, {"CommandLine": "x"}], IGNORE),
    ("fieldref-startswith", "CommandLine|fieldref|startswith: Image",
     [{"CommandLine": "C:\\a.exe -x", "Image": "C:\\a.exe"}],
     [{"CommandLine": "\"C:\\a.exe\" -x", "Image": "C:\\a.exe"}], IGNORE),
    ("fieldref-endswith", "TargetFilename|fieldref|endswith: Name",
     [{"TargetFilename": "C:\\x\\evil.dll", "Name": "evil.dll"}],
     [{"TargetFilename": "C:\\x\\evil.dll.bak", "Name": "evil.dll"}], IGNORE),
    # --- gt / gte / lt / lte / neq -----------------------------------------------------------
    ("gt", "Count|gt: 10", ev("Count", 11, "11", 10.5, "10.5", [1, 20]),
     ev("Count", 10, "10", 9, "abc", "", True, None, [1, 2]) + [{}], IGNORE),
    ("gte", "Count|gte: 10", ev("Count", 10, "10", 10.0, 11), ev("Count", 9, "9.99"), IGNORE),
    ("lt", "Count|lt: 1.5", ev("Count", 1, "1.49", -3, "0"), ev("Count", 1.5, "2", "x"), IGNORE),
    ("lte", "Count|lte: 0", ev("Count", 0, "0", -1, "-0.5"), ev("Count", 1, "0.1"), IGNORE),
    ("neq", "User|neq: 'SYSTEM'", ev("User", "alice") + [{}], ev("User", "SYSTEM", "system"), IGNORE),
    ("neq-list", "User|neq: [SYSTEM, 'LOCAL SERVICE']", ev("User", "alice"),
     ev("User", "system", "local service"), IGNORE),
    # --- timestamp parts -----------------------------------------------------------------------
    ("minute", "UtcTime|minute: 30", ev("UtcTime", "2024-03-05T14:30:45.1234567Z", 1709649045),
     ev("UtcTime", "2024-03-05T14:31:45Z", "yesterday", "") + [{}], IGNORE),
    ("hour", "UtcTime|hour: 14", ev("UtcTime", "2024-03-05 14:30:45.123", 1709649045000),
     ev("UtcTime", "2024-03-05 15:30:45", "14"), IGNORE),
    ("day", "UtcTime|day: 5", ev("UtcTime", "2024-03-05T14:30:45Z"), ev("UtcTime", "2024-03-06T00:00:00Z"),
     IGNORE),
    ("week", "UtcTime|week: 10", ev("UtcTime", "2024-03-05T14:30:45Z"),
     ev("UtcTime", "2024-03-12T14:30:45Z"), IGNORE),
    ("month", "UtcTime|month: 3", ev("UtcTime", "2024-03-05T14:30:45Z", ["2020-01-01", "2021-03-01"]),
     ev("UtcTime", "2024-04-05T14:30:45Z"), IGNORE),
    ("year", "UtcTime|year: 2024", ev("UtcTime", "2024-03-05"), ev("UtcTime", "2023-12-31T23:59:59Z"),
     IGNORE),
    # --- numbers, booleans, lists, nesting -------------------------------------------------------
    ("number-matches-number-and-string", "EventID: 4688", ev("EventID", 4688, "4688", 4688.0),
     ev("EventID", 4689, "46880", "4688x", None), IGNORE),
    ("number-list-string-value", "EventID: [4624, 4625]", ev("EventID", "4625", 4624),
     ev("EventID", "4626"), IGNORE),
    ("float-number", "Ratio: 0.5", ev("Ratio", 0.5, "0.5"), ev("Ratio", 5, "0.50x"), IGNORE),
    ("boolean-true", "Enabled: true", ev("Enabled", True, "true", "True"),
     ev("Enabled", False, "false", 1, "yes") + [{}], IGNORE),
    ("boolean-false", "Enabled: false", ev("Enabled", False, "false", "FALSE"),
     ev("Enabled", True, 0, "") + [{}], IGNORE),
    ("list-valued-field-eq", "Hashes: 'ABC'", ev("Hashes", ["x", "abc"]), ev("Hashes", ["x", "abcd"], []),
     IGNORE),
    ("list-valued-field-contains", "Tags|contains: 'evil'", ev("Tags", ["good", "very EVIL"]),
     ev("Tags", ["good"], []), IGNORE),
    ("list-valued-field-number", "EventID: 4688", ev("EventID", [4624, 4688], ["4688"]),
     ev("EventID", [4624]), IGNORE),
    ("nested-dotted-field", r"Process.Image|endswith: '\cmd.exe'",
     [{"Process": {"Image": "C:\\CMD.exe"}}], [{"Process": {"Name": "C:\\cmd.exe"}}, {"Process": "x"}],
     IGNORE),
    ("nested-three-levels", "a.b.c: 'x'", [{"a": {"b": {"c": "X"}}}], [{"a": {"b": {"c": "y"}}},
                                                                      {"a": {"b": "x"}}], IGNORE),
    # --- keyword searches ----------------------------------------------------------------------
    ("keywords", "- mimikatz\n- sekurlsa",
     [{"CommandLine": "Invoke-MIMIKATZ"}, {"Other": "x", "Msg": "sekurlsa::logonpasswords"},
      {"Nested": {"deep": "mimikatz"}}, {"List": ["a", "SEKURLSA"]}],
     [{"CommandLine": "mimi katz"}, {"mimikatz": "field name only"}, {}], IGNORE),
    ("keyword-single-value", "'whoami'", [{"a": "c:\\whoami.exe"}], [{"a": "who ami"}], IGNORE),
    ("keyword-number", "- 4688", [{"a": "x4688x"}, {"EventID": 4688}], [{"a": "468"}], IGNORE),
    ("keyword-wildcard", "- 'evil*.exe'", [{"a": "run EVIL-tool.exe now"}], [{"a": "evil.dll"}], IGNORE),
]


@pytest.mark.parametrize("sel,hits,misses,options", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_modifier(sel, hits, misses, options):
    rs = sigcc.compile([rule_yaml(_sel(sel))], options)
    errors = [d.render() for d in rs.diagnostics if d.severity == "error"]
    assert errors == []
    assert [e for e in hits if not rs.match(e)] == [], "should match"
    assert [e for e in misses if rs.match(e)] == [], "should not match"
    assert rs.errors == []


def test_every_modifier_has_a_row():
    """A modifier added to the table without a row here fails this test."""
    from sigcc.compiler.modifiers import MODIFIERS

    text = " ".join(c[1] for c in CASES)
    missing = [m for m in MODIFIERS if f"|{m}:" not in text and f"|{m}|" not in text]
    assert missing == []


# --- illegal combinations: an error diagnostic naming the item --------------------------------
# (id, YAML of `sel`, code, message, hint, options)
ERRORS = [
    ("base64-wildcard", "CommandLine|base64: 'ping*'", "bad-modifier",
     "'CommandLine|base64': base64: value 'ping*' contains wildcards",
     "escape '*' and '?' with a backslash, or drop the wildcard", IGNORE),
    ("base64offset-after-contains", "CommandLine|contains|base64offset: 'ping'", "bad-modifier",
     "'CommandLine|contains|base64offset': base64offset: value 'ping' contains wildcards",
     "escape '*' and '?' with a backslash, or drop the wildcard", IGNORE),
    ("re-then-contains", "CommandLine|re|contains: 'a.b'", "bad-modifier",
     "'CommandLine|re|contains': contains: cannot be applied to a RegexMatch test",
     "put contains/startswith/endswith before re, cidr and the like, or write the pattern into "
     "the regular expression", IGNORE),
    ("re-invalid", "CommandLine|re: 'a(b'", "bad-modifier",
     "'CommandLine|re': re: invalid regular expression 'a(b': missing ), unterminated subpattern "
     "at position 1",
     "sigcc uses Python's re syntax (close to PCRE); fix the pattern", IGNORE),
    ("re-flag-without-re", "CommandLine|i: 'abc'", "bad-modifier",
     "'CommandLine|i': i: is a flag of 're' and must follow it", "write '|re|i'", IGNORE),
    ("re-flag-before-re", "CommandLine|m|re: 'abc'", "bad-modifier",
     "'CommandLine|m|re': m: is a flag of 're' and must follow it", "write '|re|m'", IGNORE),
    ("gt-string", "Count|gt: 'abc'", "bad-modifier", "'Count|gt': gt: needs a number, got 'abc'",
     None, IGNORE),
    ("gte-numeric-string", "Count|gte: '10'", "bad-modifier",
     "'Count|gte': gte: needs a number, got '10'", None, IGNORE),
    ("lt-boolean", "Count|lt: true", "bad-modifier", "'Count|lt': lt: needs a number, got bool", None,
     IGNORE),
    ("cidr-bad-prefix", "SourceIp|cidr: '10.0.0.0/33'", "bad-modifier",
     "'SourceIp|cidr': cidr: '10.0.0.0/33' is not an IPv4 or IPv6 network",
     "write e.g. 10.0.0.0/8 or fe80::/10", IGNORE),
    ("cidr-not-an-address", "SourceIp|cidr: 'localhost'", "bad-modifier",
     "'SourceIp|cidr': cidr: 'localhost' is not an IPv4 or IPv6 network",
     "write e.g. 10.0.0.0/8 or fe80::/10", IGNORE),
    ("unknown-modifier", "CommandLine|contians: 'x'", "unknown-modifier",
     "'CommandLine|contians': unknown modifier 'contians'", "did you mean 'contains'?", IGNORE),
    ("unknown-modifier-no-close-match", "CommandLine|zzzzzz: 'x'", "unknown-modifier",
     "'CommandLine|zzzzzz': unknown modifier 'zzzzzz'",
     "known modifiers: all, base64, base64offset, cased, cidr, contains, day, dotall, endswith, "
     "exists, expand, fieldref, gt, gte, hour, i, ignorecase, lt, lte, m, minute, month, multiline, "
     "neq, re, s, startswith, utf16, utf16be, utf16le, week, wide, windash, year", IGNORE),
    ("exists-string", "Foo|exists: 'yes'", "bad-modifier", "'Foo|exists': exists: needs true or false, "
     "got str", None, IGNORE),
    ("unresolved-placeholder", "User|expand: '%admins%'", "unresolved-placeholder",
     "'User|expand': placeholder %admins% has no value",
     "supply it with --placeholder admins=VALUE or Options(placeholders={'admins': [...]})", IGNORE),
    ("cased-on-re", "CommandLine|re|cased: 'abc'", "bad-modifier",
     "'CommandLine|re|cased': cased: has no effect on a RegexMatch test",
     "use re (case-sensitive by default) instead", IGNORE),
    ("modifier-twice", "Image|endswith|endswith: 'x'", "bad-modifier",
     "'Image|endswith|endswith': endswith: is given twice", None, IGNORE),
    ("timepart-string", "UtcTime|hour: 'noon'", "bad-modifier",
     "'UtcTime|hour': hour: needs a whole number, got str", None, IGNORE),
    ("fieldref-wildcard", "a|fieldref: 'b*'", "bad-modifier",
     "'a|fieldref': fieldref: value 'b*' contains wildcards",
     "escape '*' and '?' with a backslash, or drop the wildcard", IGNORE),
    ("windash-too-many", "CommandLine|windash: '-a -b -c'", "bad-modifier",
     "'CommandLine|windash': windash: 3 dashes expand to more than 100 variants",
     "split the value or raise Options.max_expansion",
     sigcc.Options(logsource="ignore", max_expansion=100)),
    ("nested-value", "Image:\n    - [a, b]", "bad-value", "'Image': a value must be a scalar, not a list",
     "nested lists and mappings are not allowed as values", IGNORE),
]


@pytest.mark.parametrize("sel,code,message,hint,options", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_illegal_combination(sel, code, message, hint, options):
    result = load_rules([rule_yaml(_sel(sel))], options)
    assert result.rules == []
    [d] = result.errors
    assert (d.code, d.message, d.hint) == (code, message, hint)
    # the item's key is on line 10 of rule_yaml's text (after 'sel:'), indented by 8
    assert (d.span.file, d.span.line, d.span.col) == ("<rule 0>", 10, 9)
    assert (d.rule_id, d.title) == ("00000000-0000-4000-8000-000000000001", "Test rule")
