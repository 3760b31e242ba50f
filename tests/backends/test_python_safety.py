"""Rule text reaches generated modules only through repr() (STYLE.md items 6, 7, 9).

Rules whose titles, ids, tags, file names, field names, identifier names, values and regexes
hold Python, quote, newline, NUL, jinja and other hostile payloads must compile to modules
that import without side effects, carry their metadata unchanged, and match exactly the
payload strings. Generated modules import only the fixed helper list, and the same rules
always give the same bytes.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import sigcc
from sigcc.runtime import helpers

MARKER = "PWNED"
_TOUCH_DQ = f'__import__("pathlib").Path("{MARKER}").touch()'
_TOUCH_SQ = f"__import__('pathlib').Path('{MARKER}').touch()"

PAYLOADS = {
    "os-system": '"); import os; os.system("echo pwned") #',
    "close-dq": f'"); {_TOUCH_DQ} #',
    "close-sq": f"'); {_TOUCH_SQ} #",
    "dict-entry-dq": f'", "x": {_TOUCH_DQ}, "y": "',
    "dict-entry-sq": f"', 'x': {_TOUCH_SQ}, 'y': '",
    "triple-sq": "'''",
    "triple-sq-code": f"'''\n{_TOUCH_SQ}\n'''",
    "triple-dq": '"""',
    "triple-dq-code": f'"""\n{_TOUCH_DQ}\n"""',
    "lf": "\n",
    "lf-code": f"x\n{_TOUCH_SQ}",
    "cr": "\r",
    "cr-code": f"x\r{_TOUCH_SQ}",  # a bare CR ends a '#' comment: the rest would run
    "crlf": "\r\n",
    "crlf-code": f"x\r\n{_TOUCH_SQ}",
    "nul": "\x00",
    "vt": "\x0b",
    "ff": "\x0c",
    "line-separator": "\u2028",
    "nel": "\u0085",
    "paragraph-separator": f"x\u2029{_TOUCH_SQ}",
    "jinja-expr": "{{ " + _TOUCH_SQ + " }}",
    "jinja-block": "{% if true %}x{% endif %}{%- raw %}",
    "jinja-comment": "{# not a comment #}",
    "backslashes": "C:\\Windows\\\\*?\\",
    "trailing-backslash": "x\\",
    "escapes": "\\n\\x00\\u2028",
    "dunder": "__import__",
}

# Characters that must never appear raw in a module: they end lines or comments for Python's
# tokenizer, or are otherwise invisible in review.
RAW_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def sigma_escape(text: str) -> str:
    """A Sigma value that matches exactly `text` (no wildcards)."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def payload_rule(p: str) -> dict:
    return {
        "title": f"Title {p} end",
        "id": f"id-{p}",
        "status": "test",
        "level": "high",
        "tags": [f"attack.{p}"],
        "references": [p],
        "description": p,
        "logsource": {"product": "windows", "category": "process_creation"},
        "detection": {
            f"sel{p}": {f"F{p}X": sigma_escape(p)},
            f"regex{p}": {f"R{p}X|re": r"\A" + re.escape(p) + r"\Z"},
            f"cased{p}": {f"C{p}X|cased": sigma_escape(p)},
            "condition": "all of them",
        },
    }


def exact_event(p: str) -> dict:
    # field names end in X: lowering strips whitespace around a field name
    return {f"F{p}X": p, f"R{p}X": p, f"C{p}X": p}


def near_misses(p: str) -> list[dict]:
    out = []
    for field in ("F", "R", "C"):
        for wrong in (p + "x", "x" + p, p[:-1], p.replace("\\", "/")):
            if wrong != p:
                out.append({**exact_event(p), f"{field}{p}X": wrong})
    out.append({f"F{p}X": p, f"R{p}X": p})  # a field missing
    out.append({k.lower() + "x": v for k, v in exact_event(p).items()})  # other field names
    return out


def _load(tmp_path: Path, text: str, name: str = "module.py") -> sigcc.Ruleset:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return sigcc.Ruleset.load(path)


def _assert_no_side_effect(tmp_path: Path, capfd) -> None:
    assert not (tmp_path / MARKER).exists(), "rule text ran as code"
    out, err = capfd.readouterr()
    assert "pwned" not in out + err, "rule text ran as code"


def _assert_matches_exactly(rs: sigcc.Ruleset, p: str) -> None:
    hits = rs.match(exact_event(p))
    assert [m.rule_id for m in hits] == [f"id-{p}"]
    assert hits[0].searches == (f"sel{p}", f"regex{p}", f"cased{p}")
    for ev in near_misses(p):
        assert rs.match(ev) == [], ev
    assert not rs.errors, rs.errors


@pytest.mark.parametrize("p", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_in_rule_dict(p, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    opts = sigcc.Options(logsource="ignore")
    text, result = sigcc.build_module([payload_rule(p)], opts)
    assert not result.errors, [d.render() for d in result.errors]
    assert not RAW_FORBIDDEN.search(text), repr(RAW_FORBIDDEN.search(text).group())
    rs = _load(tmp_path, text)
    _assert_no_side_effect(tmp_path, capfd)
    (info,) = rs.rules
    assert (info.id, info.title, info.file) == (f"id-{p}", f"Title {p} end", "<rule 0>")
    assert info.tags == (f"attack.{p}",) and info.references == (p,)
    assert info.condition == "all of them"
    # the line map points at the generated functions, lines counted as Python's tokenizer does
    lines = re.split(r"\r\n|\r|\n", text)
    assert len(rs.linemap) == 4  # three searches and the condition
    for generated, file, _line in rs.linemap:
        assert lines[generated - 1].startswith("def _r0"), (generated, lines[generated - 1])
        assert file == "<rule 0>"
    _assert_matches_exactly(rs, p)
    _assert_no_side_effect(tmp_path, capfd)


@pytest.mark.parametrize("p", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_in_rule_file(p, tmp_path, monkeypatch, capfd):
    """The same rule as a YAML file whose name holds the payload too (where the OS allows)."""
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules"
    rules.mkdir()
    name = f"rule{p}.yml" if "/" not in p and "\x00" not in p else "rule.yml"
    rule_file = rules / name
    rule_file.write_text(yaml.safe_dump(payload_rule(p), allow_unicode=False), encoding="utf-8")
    text, result = sigcc.build_module([rule_file], sigcc.Options())
    assert not result.errors, [d.render() for d in result.errors]
    assert not RAW_FORBIDDEN.search(text)
    rs = _load(tmp_path, text)
    _assert_no_side_effect(tmp_path, capfd)
    (info,) = rs.rules
    assert (info.id, info.title, info.file) == (f"id-{p}", f"Title {p} end", str(rule_file))
    process = {"Channel": "Security", "EventID": 4688}  # the rule's logsource
    hits = rs.match({**process, **exact_event(p)})
    assert [m.rule_id for m in hits] == [f"id-{p}"]
    assert rs.match(exact_event(p)) == []  # not its logsource
    for ev in near_misses(p):
        assert rs.match({**process, **ev}) == [], ev
    # the line map points back into the rule file
    assert {row[1] for row in rs.linemap} == {str(rule_file)}
    _assert_no_side_effect(tmp_path, capfd)


def test_all_payloads_in_one_module(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    text, result = sigcc.build_module([payload_rule(p) for p in PAYLOADS.values()],
                                      sigcc.Options(logsource="ignore"))
    assert not result.errors
    rs = _load(tmp_path, text)
    _assert_no_side_effect(tmp_path, capfd)
    assert [r.id for r in rs.rules] == [f"id-{p}" for p in PAYLOADS.values()]
    for p in PAYLOADS.values():
        _assert_matches_exactly(rs, p)
    _assert_no_side_effect(tmp_path, capfd)


# --- what generated code may use ----------------------------------------------------------

EVERY_TEST = """
title: Every kind of test
id: 11111111-2222-4333-8444-555555555555
status: test
level: low
logsource:
    product: windows
    category: process_creation
detection:
    strings:
        Image|endswith: '\\cmd.exe'
        CommandLine|contains|all: ['-enc', 'a*b?c']
        User|startswith: 'NT '
        Exact|cased: Value
        Any: '*'
    numbers:
        EventID: [4688, 1.5]
        Size|gt: 10
        Flag: true
    special:
        Address|cidr: 10.0.0.0/8
        Path|re|i: '^c:\\\\'
        Parent|fieldref|endswith: Image
        UtcTime|hour: 12
        Gone: null
        There|exists: true
    keywords:
        - mimikatz
        - 4624
    keyword_compare:
        '|gt': 3
    condition: (strings or numbers) and not 1 of special* or keywords or keyword_compare
"""


def _generated_ast() -> ast.Module:
    text, result = sigcc.build_module([EVERY_TEST, *(payload_rule(p) for p in PAYLOADS.values())])
    assert not result.errors, [d.render() for d in result.errors]
    return ast.parse(text)


def test_module_imports_only_the_fixed_helper_list():
    tree = _generated_ast()
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert len(imports) == 1
    (imp,) = imports
    assert isinstance(imp, ast.ImportFrom) and imp.module == "sigcc.runtime.helpers" and imp.level == 0
    assert [a.name for a in imp.names] == list(helpers.__all__)
    assert all(a.asname is None for a in imp.names)
    assert tree.body.index(imp) == 1  # right after the docstring


def test_module_code_uses_only_helpers_and_its_own_names():
    """No builtins beyond `list` and `frozenset`, no attribute but the string/dict methods
    values support; the only locals are the hoisted reads `_v<n>`."""
    tree = _generated_ast()
    own = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
    own |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    local = {t.id for f in tree.body if isinstance(f, ast.FunctionDef)
             for n in ast.walk(f) if isinstance(n, ast.Assign) for t in n.targets}
    assert local and all(re.fullmatch(r"_v\d+", x) for x in local), local
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    allowed = set(helpers.__all__) | own | local | {"ev", "lc", "tc", "list", "frozenset", "True",
                                                    "False"}
    assert names <= allowed, names - allowed
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert attrs <= {"startswith", "endswith", "get", "values"}, attrs
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert calls <= set(helpers.__all__) | own | {"list", "frozenset"}, calls


# --- determinism --------------------------------------------------------------------------

def _rule_files(tmp_path: Path) -> list[Path]:
    files = []
    for i, p in enumerate(PAYLOADS.values()):
        f = tmp_path / f"r{i:02d}.yml"
        f.write_text(yaml.safe_dump(payload_rule(p)), encoding="utf-8")
        files.append(f)
    every = tmp_path / "every.yml"
    every.write_text(EVERY_TEST, encoding="utf-8")
    return [every, *files]


def test_module_text_is_deterministic_in_process(tmp_path):
    files = _rule_files(tmp_path)
    first, _ = sigcc.build_module(files)
    second, _ = sigcc.build_module(files)
    from_dir, _ = sigcc.build_module([tmp_path])  # the directory walk is ordered the same way
    assert first.encode() == second.encode() == from_dir.encode()


def test_module_text_is_deterministic_across_processes(tmp_path):
    files = _rule_files(tmp_path)
    here, _ = sigcc.build_module(files)
    script = ("import sys, sigcc\n"
              "sys.stdout.buffer.write(sigcc.build_module(sys.argv[1:])[0].encode())\n")
    root = Path(sigcc.__file__).resolve().parent.parent
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed,
               "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
        out = subprocess.run([sys.executable, "-c", script, *map(str, files)], env=env,
                             capture_output=True, check=True, cwd=tmp_path).stdout
        assert out == here.encode(), f"PYTHONHASHSEED={seed} gave different module text"
