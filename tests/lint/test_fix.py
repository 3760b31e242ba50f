"""--fix: only the fixed text changes, comments and order stay, the detection stays."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from sigcc.lint import make_config
from sigcc.lint.engine import lint
from sigcc.lint.fix import detection_signature, fix_files, fix_text, same_detection

from .conftest import BASE, TODAY

SIGMA = Path(__file__).resolve().parents[2].parent / "shared" / "sigma" / "rules"

FIXABLE = BASE.replace("level: medium", "level: High   # keep this comment") \
    .replace("date: 2024-01-15", "date: 2024/01/15") \
    .replace("    - attack.t1033\n", "    - attack.t1033\n    - Attack.T1033  # dup\n    - attack.t1033\n") \
    .replace("'/all'", "'*/all*'") \
    .replace("Image|endswith:", "Image |endswith|all:")


def _lint(path):
    return lint([str(path)], make_config(now=TODAY)).findings


def test_fix_changes_only_fixed_lines_and_keeps_comments(tmp_path):
    p = tmp_path / "r.yml"
    p.write_text(FIXABLE, encoding="utf-8")
    before = detection_signature(FIXABLE, str(p))
    fixed, refused = fix_files(_lint(p))
    assert not refused
    # SL201 (lowercase the tag) and SL208 (delete the duplicate) edit the same tag, SL410
    # and SL423 the same key: of overlapping fixes one is applied, the other next time
    assert {f.check for f in fixed} >= {"SL109", "SL111", "SL208", "SL411", "SL410"}
    new = p.read_text(encoding="utf-8")
    assert "level: high   # keep this comment" in new
    assert "date: 2024-01-15" in new and "'/all'" in new
    old_lines, new_lines = FIXABLE.split("\n"), new.split("\n")
    assert len(old_lines) - len(new_lines) == 2  # the two duplicate tag lines removed
    assert "    - Attack.T1033  # dup" not in new_lines  # (the first spelling stays)
    changed = [x for x in new_lines if x not in old_lines]
    assert sorted(changed) == sorted([
        "date: 2024-01-15", "            - '/all'", "level: high   # keep this comment",
        "        Image |endswith: '\\whoami.exe'",  # (FIXABLE edits both keys)
        "        ParentImage |endswith: '\\explorer.exe'"]), changed
    assert same_detection(before, detection_signature(new, str(p)))
    fix_files(_lint(p))  # the second run applies what overlapped
    again = [f for f in _lint(p) if f.fix is not None]
    assert not again, again
    assert "Image|endswith: " in p.read_text(encoding="utf-8")


def test_fix_that_changes_the_detection_is_refused(tmp_path):
    from sigcc.lint.source import Finding, Fix
    text = BASE
    start = text.index("'/priv'")
    bad = Finding("SL411", "warning", "x", "r.yml", 1, 1,
                  fix=Fix(start, start + len("'/priv'"), "'/other'", "change a value"))
    new, done, refused = fix_text(text, "r.yml", [bad])
    assert new == text and not done and refused == [bad]


def test_bom_and_crlf_are_kept(tmp_path):
    p = tmp_path / "r.yml"
    text = BASE.replace("level: medium", "level: Medium").replace("\n", "\r\n")
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    fix_files(_lint(p))
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"level: medium\r\n" in raw
    assert raw.count(b"\r\n") == text.count("\r\n")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["level", "date", "tag", "star", "all", "space", "trail"]),
                unique=True), st.text(alphabet="abc #é", max_size=12))
def test_fixer_never_changes_other_lines(tmp_path_factory, edits, comment):
    comment = comment.rstrip()  # (trailing spaces are a finding of their own, SL004)
    text = BASE.replace("author: Jane Doe", f"author: Jane Doe  # c{comment}")
    subs = {"level": ("level: medium", "level: MEDIUM"), "date": ("date: 2024-01-15", "date: 2024/01/15"),
            "tag": ("- attack.t1033", "- Attack.T1033"), "star": ("'/priv'", "'*/priv*'"),
            "all": ("Image|endswith:", "Image|endswith|all:"), "space": ("ParentImage|endswith", "ParentImage| endswith"),
            "trail": ("status: test", "status: test \t")}
    touched = set()
    for e in edits:
        old, new = subs[e]
        text = text.replace(old, new, 1)
        touched.add(new.split(":")[0].strip(" -"))
    p = tmp_path_factory.mktemp("h") / "r.yml"
    p.write_text(text, encoding="utf-8")
    fix_files(_lint(p))
    after = p.read_text(encoding="utf-8").split("\n")
    before = text.split("\n")
    assert len(after) == len(before)
    for a, b in zip(before, after):
        if a != b:
            assert any(a.strip(" -\t").startswith(t) for t in touched), (a, b)
    assert after == BASE.replace("author: Jane Doe", f"author: Jane Doe  # c{comment}").split("\n")


@pytest.mark.skipif(not SIGMA.is_dir(), reason="../shared/sigma/rules (SigmaHQ) is absent")
def test_fix_on_copies_of_sigmahq_files(tmp_path):
    """SigmaHQ files with fixable findings: copies are fixed, only fixed lines change, and
    the result loads to the same detection."""
    import random
    files = sorted(SIGMA.rglob("*.yml"))
    known = [SIGMA / f for f in (  # files with fixable findings (bench/lint.py, 2026-12)
        "linux/process_creation/proc_creation_lnx_susp_sensitive_file_access.yml",
        "windows/process_creation/proc_creation_win_icacls_deny.yml",
        "windows/process_creation/proc_creation_win_net_use_password_plaintext.yml",
        "windows/process_creation/proc_creation_win_powershell_base64_iex.yml",
        "windows/process_creation/proc_creation_win_powershell_defender_disable_feature.yml")]
    known = [f for f in known if f.is_file()]
    rng = random.Random(14)
    chosen = known + rng.sample(files, 10)
    total_fixed = 0
    for src in chosen:
        dst = tmp_path / Path(src).name
        shutil.copy(src, dst)
        before_text = dst.read_text(encoding="utf-8-sig")
        before = detection_signature(before_text, str(dst))
        findings = _lint(dst)
        fixed, refused = fix_files(findings)
        total_fixed += len(fixed)
        after_text = dst.read_text(encoding="utf-8-sig")
        assert same_detection(before, detection_signature(after_text, str(dst))), src
        fixed_lines = {f.line for f in fixed}
        old, new = before_text.split("\n"), after_text.split("\n")
        deleted = {f.line for f in fixed if f.fix.what.startswith("remove duplicate")}
        kept = [(i, a) for i, a in enumerate(old, 1) if i not in deleted]
        assert len(kept) == len(new)
        for (i, a), b in zip(kept, new):
            if a != b:
                assert i in fixed_lines, (src, i, a, b)
    assert total_fixed or not known, "the known SigmaHQ files had fixable findings"
