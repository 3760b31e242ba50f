"""Golden table: one row per construct, the expected query text per target.

Rules are built from a detection block (tests/conftest.py rule_yaml) and converted without the
default logsource pipeline, so each row shows the construct alone. Set SIGCC_UPDATE_GOLDEN=1 to
print the current outputs in this file's format (then review the diff by hand).
"""
from __future__ import annotations

import os

import pytest

from sigcc.query import to_query
from tests.conftest import rule_yaml

TARGETS = ("splunk", "lucene", "kql", "sqlite", "duckdb", "postgres", "spark")

DETECTIONS = {
    'eq': "sel:\n        Image: 'C:\\Windows\\cmd.exe'",
    'contains_list': "sel:\n        CommandLine|contains:\n            - ' -enc '\n            - '100%_done'",
    'startswith_endswith': "sel:\n        Image|endswith: '\\cmd.exe'\n        ParentImage|startswith: 'C:\\Temp\\'",
    'glob_one': "sel:\n        Image: 'C:\\a?c\\*.exe'",
    'literal_star': "sel:\n        CommandLine|contains: 'a\\*b'",
    'in_list': "sel:\n        OriginalFileName:\n            - 'a.exe'\n            - 'b.exe'",
    'not_null': 'sel:\n        A: x\n    f:\n        B: null\n    condition: sel and not f',
    'precedence': "a:\n        A: 1\n    b:\n        B: 2\n    c:\n        C: 'x y'\n    condition: a and (b or c) or not a",
    'regex': "sel:\n        CommandLine|re|i: '^cmd.*/c'",
    'cased': "sel:\n        Image|cased|endswith: 'CMD.exe'",
    'cidr': "sel:\n        DestinationIp|cidr: '10.0.0.0/8'",
    'compare': 'sel:\n        Size|gt: 100',
    'exists': 'sel:\n        A|exists: true\n        B|exists: false',
    'keyword': "kw:\n        - 'mimikatz'",
    'fieldref': 'sel:\n        A|fieldref: B',
    'bool': 'sel:\n        Enabled: true',
}

EXPECTED = {
    'eq': {
        'splunk': 'Image="C:\\\\Windows\\\\cmd.exe"',
        'lucene': 'Image:C\\:\\\\Windows\\\\cmd.exe',
        'kql': 'logs\n| where Image =~ "C:\\\\Windows\\\\cmd.exe"',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("Image") = \'c:\\windows\\cmd.exe\'',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("Image") = \'c:\\windows\\cmd.exe\'',
        'postgres': 'SELECT * FROM logs WHERE LOWER("Image") = \'c:\\windows\\cmd.exe\'',
        'spark': "SELECT * FROM logs WHERE LOWER(`Image`) = 'c:\\\\windows\\\\cmd.exe'",
    },
    'contains_list': {
        'splunk': 'CommandLine IN ("* -enc *", "*100%_done*")',
        'lucene': 'CommandLine:*\\ \\-enc\\ * OR CommandLine:*100%_done*',
        'kql': 'logs\n| where CommandLine contains " -enc " or CommandLine contains "100%_done"',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("CommandLine") LIKE \'% -enc %\' ESCAPE \'\\\' OR LOWER("CommandLine") LIKE \'%100\\%\\_done%\' ESCAPE \'\\\'',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("CommandLine") LIKE \'% -enc %\' ESCAPE \'\\\' OR LOWER("CommandLine") LIKE \'%100\\%\\_done%\' ESCAPE \'\\\'',
        'postgres': 'SELECT * FROM logs WHERE LOWER("CommandLine") LIKE \'% -enc %\' ESCAPE \'\\\' OR LOWER("CommandLine") LIKE \'%100\\%\\_done%\' ESCAPE \'\\\'',
        'spark': "SELECT * FROM logs WHERE LOWER(`CommandLine`) LIKE '% -enc %' ESCAPE '\\\\' OR LOWER(`CommandLine`) LIKE '%100\\\\%\\\\_done%' ESCAPE '\\\\'",
    },
    'startswith_endswith': {
        'splunk': 'Image="*\\\\cmd.exe" AND ParentImage="C:\\\\Temp\\\\*"',
        'lucene': 'Image:*\\\\cmd.exe AND ParentImage:C\\:\\\\Temp\\\\*',
        'kql': 'logs\n| where Image endswith "\\\\cmd.exe" and ParentImage startswith "C:\\\\Temp\\\\"',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("Image") LIKE \'%\\\\cmd.exe\' ESCAPE \'\\\' AND LOWER("ParentImage") LIKE \'c:\\\\temp\\\\%\' ESCAPE \'\\\'',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("Image") LIKE \'%\\\\cmd.exe\' ESCAPE \'\\\' AND LOWER("ParentImage") LIKE \'c:\\\\temp\\\\%\' ESCAPE \'\\\'',
        'postgres': 'SELECT * FROM logs WHERE LOWER("Image") LIKE \'%\\\\cmd.exe\' ESCAPE \'\\\' AND LOWER("ParentImage") LIKE \'c:\\\\temp\\\\%\' ESCAPE \'\\\'',
        'spark': "SELECT * FROM logs WHERE LOWER(`Image`) LIKE '%\\\\\\\\cmd.exe' ESCAPE '\\\\' AND LOWER(`ParentImage`) LIKE 'c:\\\\\\\\temp\\\\\\\\%' ESCAPE '\\\\'",
    },
    'glob_one': {
        'splunk': '* | where match(Image, "(?is)^C:\\\\\\\\a.c\\\\*\\\\.exe\\\\z")',
        'lucene': 'Image:C\\:\\\\a?c\\*.exe',
        'kql': 'logs\n| where Image matches regex "(?is)^C:\\\\\\\\a.c\\\\*\\\\.exe$"',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("Image") LIKE \'c:\\\\a_c*.exe\' ESCAPE \'\\\'',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("Image") LIKE \'c:\\\\a_c*.exe\' ESCAPE \'\\\'',
        'postgres': 'SELECT * FROM logs WHERE LOWER("Image") LIKE \'c:\\\\a_c*.exe\' ESCAPE \'\\\'',
        'spark': "SELECT * FROM logs WHERE LOWER(`Image`) LIKE 'c:\\\\\\\\a_c*.exe' ESCAPE '\\\\'",
    },
    'literal_star': {
        'splunk': '* | where match(CommandLine, "(?is)^.*a\\\\*b.*\\\\z")',
        'lucene': 'CommandLine:*a\\*b*',
        'kql': 'logs\n| where CommandLine contains "a*b"',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("CommandLine") LIKE \'%a*b%\' ESCAPE \'\\\'',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("CommandLine") LIKE \'%a*b%\' ESCAPE \'\\\'',
        'postgres': 'SELECT * FROM logs WHERE LOWER("CommandLine") LIKE \'%a*b%\' ESCAPE \'\\\'',
        'spark': "SELECT * FROM logs WHERE LOWER(`CommandLine`) LIKE '%a*b%' ESCAPE '\\\\'",
    },
    'in_list': {
        'splunk': 'OriginalFileName IN ("a.exe", "b.exe")',
        'lucene': 'OriginalFileName:a.exe OR OriginalFileName:b.exe',
        'kql': 'logs\n| where OriginalFileName in~ ("a.exe", "b.exe")',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("OriginalFileName") IN (\'a.exe\', \'b.exe\')',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("OriginalFileName") IN (\'a.exe\', \'b.exe\')',
        'postgres': 'SELECT * FROM logs WHERE LOWER("OriginalFileName") IN (\'a.exe\', \'b.exe\')',
        'spark': "SELECT * FROM logs WHERE LOWER(`OriginalFileName`) IN ('a.exe', 'b.exe')",
    },
    'not_null': {
        'splunk': 'A="x" AND B=*',
        'lucene': 'A:x AND _exists_:B',
        'kql': 'logs\n| where A =~ "x" and isnotnull(B)',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("A") = \'x\' AND NOT "B" IS NULL',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("A") = \'x\' AND NOT "B" IS NULL',
        'postgres': 'SELECT * FROM logs WHERE LOWER("A") = \'x\' AND NOT "B" IS NULL',
        'spark': "SELECT * FROM logs WHERE LOWER(`A`) = 'x' AND NOT `B` IS NULL",
    },
    'precedence': {
        'splunk': '(A=1 AND (B=2 OR C="x y")) OR NOT A=1',
        'lucene': '(A:1 AND (B:2 OR C:x\\ y)) OR NOT A:1',
        'kql': 'logs\n| where (tostring(A) == "1" and (tostring(B) == "2" or C =~ "x y")) or not(tostring(A) == "1")',
        'sqlite': 'SELECT * FROM logs WHERE "A" = \'1\' AND ("B" = \'2\' OR LOWER("C") = \'x y\') OR NOT COALESCE("A" = \'1\', FALSE)',
        'duckdb': 'SELECT * FROM logs WHERE "A" = \'1\' AND ("B" = \'2\' OR LOWER("C") = \'x y\') OR NOT COALESCE("A" = \'1\', FALSE)',
        'postgres': 'SELECT * FROM logs WHERE "A" = \'1\' AND ("B" = \'2\' OR LOWER("C") = \'x y\') OR NOT COALESCE("A" = \'1\', FALSE)',
        'spark': "SELECT * FROM logs WHERE `A` = '1' AND (`B` = '2' OR LOWER(`C`) = 'x y') OR NOT COALESCE(`A` = '1', FALSE)",
    },
    'regex': {
        'splunk': '* | where match(CommandLine, "(?i)^cmd.*/c")',
        'lucene': "ERROR: Lucene cannot express the regex '^cmd.*/c' with flags i (field 'CommandLine')",
        'kql': 'logs\n| where CommandLine matches regex "(?i)^cmd.*/c"',
        'sqlite': 'SELECT * FROM logs WHERE "CommandLine" REGEXP \'(?i)^cmd.*/c\'',
        'duckdb': 'SELECT * FROM logs WHERE REGEXP_MATCHES("CommandLine", \'(?i)^cmd.*/c\')',
        'postgres': 'SELECT * FROM logs WHERE "CommandLine" ~ \'(?pi)^cmd.*/c\'',
        'spark': "SELECT * FROM logs WHERE `CommandLine` RLIKE '(?i)^cmd.*/c'",
    },
    'cased': {
        'splunk': '* | where match(Image, "(?s)^.*CMD\\\\.exe\\\\z")',
        'lucene': "ERROR: Lucene cannot express a case-sensitive (cased) match (field 'Image')",
        'kql': 'logs\n| where Image endswith_cs "CMD.exe"',
        'sqlite': 'SELECT * FROM logs WHERE "Image" GLOB \'*CMD.exe\'',
        'duckdb': 'SELECT * FROM logs WHERE "Image" LIKE \'%CMD.exe\' ESCAPE \'\\\'',
        'postgres': 'SELECT * FROM logs WHERE "Image" LIKE \'%CMD.exe\' ESCAPE \'\\\'',
        'spark': "SELECT * FROM logs WHERE `Image` LIKE '%CMD.exe' ESCAPE '\\\\'",
    },
    'cidr': {
        'splunk': 'DestinationIp="10.0.0.0/8"',
        'lucene': 'DestinationIp:10.0.0.0\\/8',
        'kql': 'logs\n| where ipv4_is_in_range(DestinationIp, "10.0.0.0/8")',
        'sqlite': 'SELECT * FROM logs WHERE "DestinationIp" REGEXP \'^\\s*\\[*10\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\]*\\s*$\'',
        'duckdb': 'SELECT * FROM logs WHERE REGEXP_MATCHES("DestinationIp", \'^\\s*\\[*10\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\]*\\s*$\')',
        'postgres': 'SELECT * FROM logs WHERE "DestinationIp" ~ \'(?p)^\\s*\\[*10\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\]*\\s*$\'',
        'spark': "SELECT * FROM logs WHERE `DestinationIp` RLIKE '^\\\\s*\\\\[*10\\\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\\\]*\\\\s*$'",
    },
    'compare': {
        'splunk': '* | where tonumber(Size)>100',
        'lucene': 'Size:{100 TO *}',
        'kql': 'logs\n| where todouble(Size) > 100',
        'sqlite': 'SELECT * FROM logs WHERE CASE WHEN "Size" REGEXP \'^\\s*[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$\' THEN CAST("Size" AS REAL) END > 100',
        'duckdb': 'SELECT * FROM logs WHERE CASE WHEN REGEXP_MATCHES("Size", \'^\\s*[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$\') THEN CAST("Size" AS DOUBLE) END > 100',
        'postgres': 'SELECT * FROM logs WHERE CASE WHEN "Size" ~ \'(?p)^\\s*[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$\' THEN CAST("Size" AS DOUBLE PRECISION) END > 100',
        'spark': "SELECT * FROM logs WHERE CASE WHEN `Size` RLIKE '^\\\\s*[+-]?([0-9]+(\\\\.[0-9]*)?|\\\\.[0-9]+)([eE][+-]?[0-9]+)?\\\\s*$' THEN CAST(`Size` AS DOUBLE) END > 100",
    },
    'exists': {
        'splunk': 'A=* AND NOT B=*',
        'lucene': '_exists_:A AND NOT _exists_:B',
        'kql': 'logs\n| where isnotnull(A) and isnull(B)',
        'sqlite': 'SELECT * FROM logs WHERE NOT "A" IS NULL AND "B" IS NULL',
        'duckdb': 'SELECT * FROM logs WHERE NOT "A" IS NULL AND "B" IS NULL',
        'postgres': 'SELECT * FROM logs WHERE NOT "A" IS NULL AND "B" IS NULL',
        'spark': 'SELECT * FROM logs WHERE NOT `A` IS NULL AND `B` IS NULL',
    },
    'keyword': {
        'splunk': '"*mimikatz*"',
        'lucene': '*mimikatz*',
        'kql': 'logs\n| where * contains "mimikatz"',
        'sqlite': 'ERROR: SQL (sqlite) cannot express a keyword (full-text) search (keyword search)',
        'duckdb': 'ERROR: SQL (duckdb) cannot express a keyword (full-text) search (keyword search)',
        'postgres': 'ERROR: SQL (postgres) cannot express a keyword (full-text) search (keyword search)',
        'spark': 'ERROR: SQL (spark) cannot express a keyword (full-text) search (keyword search)',
    },
    'fieldref': {
        'splunk': '* | where lower(A)=lower(B)',
        'lucene': "ERROR: Lucene cannot express a FieldRef test (field 'A')",
        'kql': 'logs\n| where A =~ B',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("A") = LOWER("B")',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("A") = LOWER("B")',
        'postgres': 'SELECT * FROM logs WHERE LOWER("A") = LOWER("B")',
        'spark': 'SELECT * FROM logs WHERE LOWER(`A`) = LOWER(`B`)',
    },
    'bool': {
        'splunk': 'Enabled="true"',
        'lucene': 'Enabled:true',
        'kql': 'logs\n| where tostring(Enabled) =~ "true"',
        'sqlite': 'SELECT * FROM logs WHERE LOWER("Enabled") = \'true\'',
        'duckdb': 'SELECT * FROM logs WHERE LOWER("Enabled") = \'true\'',
        'postgres': 'SELECT * FROM logs WHERE LOWER("Enabled") = \'true\'',
        'spark': "SELECT * FROM logs WHERE LOWER(`Enabled`) = 'true'",
    },
}


def convert(name: str, target: str) -> str:
    det = DETECTIONS[name]
    if "condition:" not in det:
        det += "\n    condition: " + det.split(":")[0]
    r = to_query([rule_yaml("    " + det)], target=target, default_pipelines=False)[0]
    return r.query if r.query is not None else "ERROR: " + r.error.message


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", list(DETECTIONS))
def test_golden(name, target):
    got = convert(name, target)
    if os.environ.get("SIGCC_UPDATE_GOLDEN"):
        print(f"{name!r} {target!r}: {got!r}")
    assert got == EXPECTED[name][target]
