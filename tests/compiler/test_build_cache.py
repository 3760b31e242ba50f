"""The build cache (sigcc/compiler/cache.py): a cached build is byte-identical to a clean one,
whatever was changed in the tree between builds, and a cache never makes a build fail."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.compiler.cache import BuildCache, default_path
from tests.conftest import EXAMPLES

RULES = sorted((EXAMPLES / "rules").glob("*.yml"))
NEW_RULE = """\
title: Added between builds
id: 9a0b1c2d-0000-4000-8000-{n:012d}
status: test
logsource: {{product: windows, category: process_creation}}
detection:
    sel:
        Image|endswith: '\\\\added{n}.exe'
    condition: sel
level: low
"""

# what a rule author does between two builds: (kind, which file, a number)
edits = st.lists(st.tuples(
    st.sampled_from(["title", "value", "longer", "add", "delete", "break", "duplicate-id",
                     "touch"]),
    st.integers(0, len(RULES) - 1), st.integers(0, 10**6)), min_size=1, max_size=4)


def _apply(tree: Path, kind: str, i: int, n: int) -> None:
    files = sorted(tree.glob("*.yml"))
    if not files and kind != "add":
        kind = "add"
    f = files[i % len(files)] if files else None
    if kind == "title":
        text = f.read_text(encoding="utf-8")
        f.write_text(text.replace("title: ", f"title: {n} - ", 1), encoding="utf-8")
    elif kind == "value":
        text = f.read_text(encoding="utf-8")
        f.write_text(text.replace("|endswith: '", f"|endswith: '{n}", 1)
                     .replace("|contains: '", f"|contains: '{n}", 1), encoding="utf-8")
    elif kind == "longer":  # a search with more values: the later rules' code moves down
        text = f.read_text(encoding="utf-8")
        f.write_text(text.replace("|endswith: '", f"|endswith:\n            - 'x{n}'\n"
                                  "            - '", 1), encoding="utf-8")
    elif kind == "add":
        (tree / f"added_{n}.yml").write_text(NEW_RULE.format(n=n), encoding="utf-8")
    elif kind == "delete":
        f.unlink()
    elif kind == "break":
        f.write_text("title: broken\ndetection: [\n", encoding="utf-8")
    elif kind == "duplicate-id":
        shutil.copy(f, tree / f"copy_{n}.yml")
    else:  # the same bytes written again: a hit
        f.write_bytes(f.read_bytes())


def _build(tree: Path, cache) -> tuple[str, list[str]]:
    source, result = sigcc.build_module([str(tree)], jobs=1, cache=cache)
    return source, [d.render() for d in result.diagnostics]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(edits, min_size=1, max_size=3))
def test_a_cached_build_is_a_clean_build(tmp_path_factory, steps):
    tmp = tmp_path_factory.mktemp("cache")
    tree = tmp / "rules"
    shutil.copytree(EXAMPLES / "rules", tree)
    cache = tmp / "c" / "m.cache"
    first, _ = _build(tree, cache)
    assert first == _build(tree, None)[0]
    for step in steps:
        for kind, i, n in step:
            _apply(tree, kind, i, n)
        cached = _build(tree, cache)
        clean = _build(tree, None)
        assert cached == clean  # the module's text and every diagnostic


def test_only_changed_files_are_loaded_again(tmp_path):
    tree = tmp_path / "rules"
    shutil.copytree(EXAMPLES / "rules", tree)
    cache = tmp_path / "m.cache"
    _, r = sigcc.build_module([str(tree)], jobs=1, cache=cache)
    assert (r.cache.hits, r.cache.misses) == (0, len(RULES))
    _apply(tree, "title", 3, 7)
    _, r = sigcc.build_module([str(tree)], jobs=1, cache=cache)
    assert (r.cache.hits, r.cache.misses) == (len(RULES) - 1, 1)
    _, r = sigcc.build_module([str(tree)], jobs=1, cache=cache)
    assert (r.cache.hits, r.cache.misses) == (len(RULES), 0)


def test_other_options_are_another_cache(tmp_path):
    cache = tmp_path / "m.cache"
    sigcc.build_module([str(EXAMPLES / "rules")], jobs=1, cache=cache)
    opts = sigcc.Options(collapse_whitespace=True)
    source, r = sigcc.build_module([str(EXAMPLES / "rules")], opts, jobs=1, cache=cache)
    assert r.cache.hits == 0
    assert source == sigcc.build_module([str(EXAMPLES / "rules")], opts, jobs=1)[0]


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05K\x01.", None])
def test_a_damaged_or_unwritable_cache_is_a_clean_build(tmp_path, damage):
    cache = tmp_path / "m.cache"
    clean = sigcc.build_module([str(EXAMPLES / "rules")], jobs=1)[0]
    if damage is None:  # a directory where the file should be: cannot be read or written
        cache.mkdir()
    else:
        sigcc.build_module([str(EXAMPLES / "rules")], jobs=1, cache=cache)
        cache.write_bytes(damage)
    source, r = sigcc.build_module([str(EXAMPLES / "rules")], jobs=1, cache=cache)
    assert source == clean
    warnings = [d for d in r.diagnostics if d.code == "cache-not-written"]
    assert len(warnings) == (damage is None)


def test_a_damaged_entry_is_a_miss(tmp_path):
    cache = tmp_path / "m.cache"
    sigcc.build_module([str(EXAMPLES / "rules")], jobs=1, cache=cache)
    store = BuildCache.open(cache, sigcc.Options())
    f = next(iter(store.old))
    store.old[f] = (store.old[f][0], b"garbage")
    assert store.get(f, store.old[f][0]) is None and store.misses == 1


def test_filters_turn_the_cache_off(tmp_path):
    tree = tmp_path / "rules"
    shutil.copytree(EXAMPLES / "rules", tree)
    (tree / "zz_filter.yml").write_text(
        "title: Not on the build host\nid: f-host\nlogsource: {product: windows}\nfilter:\n"
        "    rules: any\n    build: {Computer: build01}\n    condition: not build\n",
        encoding="utf-8")
    cache = tmp_path / "m.cache"
    source, r = sigcc.build_module([str(tree)], jobs=1, cache=cache)
    assert r.cache.disabled and not cache.exists()
    assert source == sigcc.build_module([str(tree)], jobs=1)[0]


def test_the_cli_keeps_its_cache_beside_the_module(tmp_path):
    out = tmp_path / "out" / "detections.py"
    cmd = [sys.executable, "-m", "sigcc", "build", "-q", str(EXAMPLES / "rules"), "-o", str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert default_path(out).is_file() and f"0 files from the cache, {len(RULES)} loaded" in first.stderr
    again = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert f"{len(RULES)} files from the cache, 0 loaded" in again.stderr
    clean = tmp_path / "clean.py"
    subprocess.run(cmd[:-1] + [str(clean), "--no-cache"], capture_output=True, check=True)
    assert clean.read_bytes() == out.read_bytes()
    assert not default_path(clean).exists()


def test_correlations_resolve_over_cached_rules(tmp_path):
    sources = [str(EXAMPLES / "rules"), str(EXAMPLES / "correlations")]
    cache = tmp_path / "m.cache"
    clean, c = sigcc.build_module(sources, jobs=1)
    assert c.plan.steps  # (the example has correlations)
    sigcc.build_module(sources, jobs=1, cache=cache)
    source, r = sigcc.build_module(sources, jobs=1, cache=cache)
    assert r.cache.misses == 0 and source == clean
    assert [d.render() for d in r.diagnostics] == [d.render() for d in c.diagnostics]


# --- the module spliced (backends/python/assembly.py) ---------------------------------------

def _rebuilt(tmp_path, edit) -> tuple:
    tree = tmp_path / "rules"
    shutil.copytree(EXAMPLES / "rules", tree)
    cache = tmp_path / "m.cache"
    sigcc.build_module([str(tree)], jobs=1, cache=cache)
    edit(tree)
    source, r = sigcc.build_module([str(tree)], jobs=1, cache=cache)
    assert source == sigcc.build_module([str(tree)], jobs=1)[0]
    return source, r


def _replace(name: str, old: str, new: str):
    def edit(tree: Path) -> None:
        f = tree / name
        text = f.read_text(encoding="utf-8")
        assert old in text
        f.write_text(text.replace(old, new, 1), encoding="utf-8")
    return edit


@pytest.mark.parametrize("edit", [
    _replace("proc_creation_win_certutil_decode.yml", "title: ", "title: Edited - "),
    _replace("proc_creation_win_certutil_decode.yml", "'-decode '", "'-decodex '"),
    _replace("proc_creation_win_certutil_decode.yml", "level: ", "level: critical\nx_old: "),
    # a search with more lines: every later rule's functions move down (its LINEMAP rows)
    _replace("proc_creation_win_certutil_decode.yml", "- '-decodehex '", "- '-decodehex '\n"
             "            - '-a '\n            - '-b '\n            - '-c '"),
], ids=["title", "value", "level", "longer"])
def test_an_edit_that_leaves_the_rest_of_the_module_is_spliced(tmp_path, edit):
    source, r = _rebuilt(tmp_path, edit)
    assert r.cache.spliced and (r.cache.hits, r.cache.misses) == (len(RULES) - 1, 1)
    ruleset = sigcc.Ruleset.from_source(source, "<spliced>")  # (a module that loads)
    assert len(ruleset.rules) == len(RULES)


@pytest.mark.parametrize("edit", [
    lambda tree: (tree / "added_1.yml").write_text(NEW_RULE.format(n=1), encoding="utf-8"),
    lambda tree: sorted(tree.glob("*.yml"))[0].unlink(),
    # a logsource no other rule has: another table of logsources
    _replace("proc_creation_win_certutil_decode.yml", "category: process_creation",
             "category: driver_load"),
    # the same search as another rule's: a body shared from now on
    lambda tree: shutil.copy(tree / "proc_creation_win_certutil_decode.yml",
                             tree / "zz_copy.yml"),
    _replace("proc_creation_win_certutil_decode.yml", "id: cc9cbe82", "id: dd9cbe82"),
], ids=["added", "deleted", "new logsource", "shared body", "new id"])
def test_an_edit_that_changes_the_rest_of_the_module_is_assembled_anew(tmp_path, edit):
    _, r = _rebuilt(tmp_path, edit)
    assert not r.cache.spliced


def test_damaged_codes_or_parts_are_a_clean_build(tmp_path):
    import pickle

    tree = tmp_path / "rules"
    shutil.copytree(EXAMPLES / "rules", tree)
    cache = tmp_path / "m.cache"
    sigcc.build_module([str(tree)], jobs=1, cache=cache)
    data = pickle.loads(cache.read_bytes())
    f = next(iter(data["files"]))
    data["files"][f] = data["files"][f][:2] + (b"garbage",)
    data["assembly"].ids = data["assembly"].ids[:-1]  # (a module of other rules)
    cache.write_bytes(pickle.dumps(data))
    (tree / "added_1.yml").write_text(NEW_RULE.format(n=1), encoding="utf-8")
    source, r = sigcc.build_module([str(tree)], jobs=1, cache=cache)
    assert source == sigcc.build_module([str(tree)], jobs=1)[0] and not r.cache.spliced
    assert not [d for d in r.diagnostics if d.code == "internal-error"]
    again, r = sigcc.build_module([str(tree)], jobs=1, cache=cache)  # (the cache is whole again)
    assert again == source and r.cache.hits == len(RULES) + 1


def test_the_cli_splices_and_writes_the_clean_build(tmp_path):
    tree = tmp_path / "rules"
    shutil.copytree(EXAMPLES / "rules", tree)
    out = tmp_path / "out" / "detections.py"
    cmd = [sys.executable, "-m", "sigcc", "build", "-q", str(tree), "-o", str(out)]
    subprocess.run(cmd, capture_output=True, check=True)
    _replace("proc_creation_win_certutil_decode.yml", "title: ", "title: Edited - ")(tree)
    again = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert f"{len(RULES) - 1} files from the cache, 1 loaded" in again.stderr
    clean = tmp_path / "clean.py"
    subprocess.run(cmd[:-1] + [str(clean), "--no-cache"], capture_output=True, check=True)
    assert clean.read_bytes() == out.read_bytes() and b"Edited - " in out.read_bytes()
