"""Hostile events (issue 8, items 3 and 7): nothing crashes, nothing is lost, same numbers
by every path.

- .json arrays and concatenated objects: one bad element costs that element only;
- nesting past Options.max_event_depth is that event's Problem naming the limit, by every
  reader path, and a ValueError naming it through the API; nothing raises RecursionError;
- an event larger than Options.max_event_bytes is that event's Problem naming the limit,
  read without holding it in memory;
- integers orjson cannot hold (>= 2**64, < -2**63) arrive exact by every path, so a rule
  matches the same event the same way through the API, JSONL, .json and stdin.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import sigcc
from sigcc.options import Options
from sigcc.runtime.events import flatten
from sigcc.runtime.inputs import Problem, Record, read_events, read_file, read_jsonl_stream
from sigcc.runtime.values import Multi, to_text
from tests.conftest import EXAMPLES, ROOT, rule_yaml

LIMIT = Options().max_event_depth  # 100


def _write(data: bytes, suffix: str) -> str:
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="sigcc-events-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def _items(data: bytes, suffix: str, options: Options = Options()):
    path = _write(data, suffix)
    try:
        items = list(read_file(path, options))
    finally:
        os.unlink(path)
    assert all(isinstance(i, (Record, Problem)) for i in items)
    return items


def _outcome(items):
    """[(position, event or ('problem', limit))] in order."""
    return [(i.record, i.event) if isinstance(i, Record) else (i.record, ("problem", i.limit))
            for i in items]


# --- .json: a bad element costs only itself -------------------------------------------------

GOOD = st.builds(lambda n, s: {"n": n, "s": s, "l": [n, s]},
                 st.integers(-1000, 1000), st.text(max_size=8))
# damage that stays inside its element; each with the limit it hits (None: malformed)
BAD = [(b'{"a": NaN}', None), (b'{"a": -Infinity}', None), (b'{"a": "\xff\xfe"}', None),
       (b'{"a": "\\ud800"}', None), (b'{"a": 1e400}', None), (b'{"a": oops}', None),
       (b'{"a" 1}', None), (b'{"a": 1,}', None), (b'{"a": [1}', None), (b'{"a": {"b": 1]}}', None),
       (b'"text"', None), (b"17", None), (b"null", None),
       (b'{"a": ' + b"[" * LIMIT + b"]" * LIMIT + b"}", "max_event_depth"),
       (b'{"a": "' + b"x" * 3000 + b'"}', "max_event_bytes")]
ELEMENT = st.one_of(GOOD.map(lambda d: ("good", d)), st.sampled_from(BAD).map(lambda b: ("bad", b)))
IN_ARRAY = st.one_of(ELEMENT, st.just(("bad", (b"[1, 2]", None))))  # at the top level: two values
OPTIONS = Options(max_event_bytes=2048)


def _encode(d: dict, pretty: bool) -> bytes:
    return json.dumps(d, indent=2).encode() if pretty else orjson.dumps(d)


def _expected(elements):
    return [(k, d if kind == "good" else ("problem", d[1])) for k, (kind, d) in enumerate(elements, 1)]


@settings(max_examples=150, deadline=None)
@given(elements=st.lists(IN_ARRAY, max_size=12), layout=st.sampled_from(["compact", "lines", "pretty"]))
def test_json_array_bad_elements_cost_only_themselves(elements, layout):
    texts = [_encode(d, layout == "pretty") if kind == "good" else d[0] for kind, d in elements]
    sep = b"," if layout == "compact" else b",\n  "
    data = b"[" + sep.join(texts) + b"]" if layout == "compact" else b"[\n  " + sep.join(texts) + b"\n]\n"
    items = _items(data, ".json", OPTIONS)
    assert _outcome(items) == _expected(elements)
    assert all(p.lost == 1 for p in items if isinstance(p, Problem))


@settings(max_examples=100, deadline=None)
@given(elements=st.lists(ELEMENT, max_size=12), pretty=st.booleans(),
       cut=st.one_of(st.none(), st.integers(0, 11)))
def test_concatenated_objects_go_on_past_a_bad_or_truncated_one(elements, pretty, cut):
    """Objects one after another, one per line (or pretty-printed); a truncated object (the
    text of an object cut short) costs itself: the next line starting with '{' goes on."""
    texts = [_encode(d, pretty) if kind == "good" else d[0] for kind, d in elements]
    if (cut is not None and cut < len(elements) and elements[cut][0] == "good"
            and (cut + 1 == len(texts) or texts[cut + 1].startswith(b"{"))):
        texts[cut] = texts[cut][: max(1, len(texts[cut]) // 2)].rstrip(b"}")
        elements[cut] = ("bad", (b"", None))
    items = _items(b"\n".join(texts) + b"\n", ".json", OPTIONS)
    assert _outcome(items) == _expected(elements)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet='{}[]",:\\ \nab1', max_size=60))
def test_the_fast_pattern_and_the_scanner_find_the_same_values(text):
    from sigcc.runtime.json_text import spans

    data = text.encode()
    fast = [(s.start, s.end, s.error) for s in spans(data, fast=True)]
    slow = [(s.start, s.end, s.error) for s in spans(data, fast=False)]
    assert fast == slow


def test_many_unclosed_objects_cost_one_problem_each_in_linear_time():
    """Each unclosed object would otherwise be scanned to the end of the file, and the
    next from its own start: once the text has ended inside a value, no value reaches past
    the next line starting with '{'."""
    import time

    for body in (b'{"a": [1\n' * 20000, b'[\n' + b'  {"a": [1, {"b": "x},\n' * 20000 + b"]"):
        t0 = time.perf_counter()
        items = _items(body, ".json")
        assert time.perf_counter() - t0 < 10
        assert len(items) == 20000 and all(isinstance(i, Problem) and i.lost == 1 for i in items)


def test_array_positions_and_messages():
    items = _items(b'[{"a": 1},\n {"a": NaN},\n {"a": [1}, {"a": 4}]', ".json")
    assert [(i.record, getattr(i, "message", None)) for i in items] == [
        (1, None),
        (2, "malformed JSON at line 2, column 8: unexpected character, expected a JSON value"),
        (3, "malformed JSON at line 3, column 2: a '}' closes a '['"),
        (4, None)]


# --- nesting: the same limit by every path ----------------------------------------------------

def _nested(depth: int, kind: str) -> dict:
    """An event nested `depth` levels (the event itself is level 1)."""
    inner = 1
    for _ in range(depth - 1):
        inner = [inner] if kind == "list" else {"k": inner}
    return {"v": inner} if depth > 1 else {"v": 1}


def _all_paths(event_text: bytes, options: Options = Options()):
    """What each reader path makes of one event's text: 'ok' or the limit named."""
    def one(items):
        assert len(items) == 1, items
        return "ok" if isinstance(items[0], Record) else (items[0].limit or items[0].message)
    return {
        "jsonl": one(_items(event_text + b"\n", ".jsonl", options)),
        "json-array": one(_items(b"[" + event_text + b"]", ".json", options)),
        "json-object": one(_items(event_text, ".json", options)),
        "stdin": one(list(read_events(["-"], io.BytesIO(event_text + b"\n"), options=options))),
    }


@settings(max_examples=40, deadline=None)
@given(depth=st.integers(1, 3 * LIMIT), kind=st.sampled_from(["list", "dict"]))
def test_depth_is_judged_the_same_by_every_path(depth, kind):
    event = _nested(depth, kind)
    want = "ok" if depth <= LIMIT else "max_event_depth"
    assert set(_all_paths(json.dumps(event).encode()).values()) == {want}
    if depth <= LIMIT:
        flatten(event)
    else:
        with pytest.raises(ValueError, match=r"max_event_depth \(100 levels\)"):
            flatten(event)


def test_depth_at_and_past_the_limit_exactly():
    for kind in ("list", "dict"):
        assert set(_all_paths(json.dumps(_nested(LIMIT, kind)).encode()).values()) == {"ok"}
        assert set(_all_paths(json.dumps(_nested(LIMIT + 1, kind)).encode()).values()) == {"max_event_depth"}


def test_issue_depths_are_problems_and_the_scan_goes_on(tmp_path):
    """The issue: a JSONL line nested 1,000 levels and a .json file nested 10,000 levels
    raised RecursionError and killed the scan; the next file was never read."""
    (tmp_path / "a.jsonl").write_bytes(b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}\n")
    (tmp_path / "b.json").write_bytes(b"[" * 10000 + b"]" * 10000)
    (tmp_path / "c.jsonl").write_bytes(b'{"ok": 1}\n')
    items = list(read_events([str(tmp_path)]))
    assert [(os.path.basename(i.file), i.record, getattr(i, "limit", None)) for i in items] == [
        ("a.jsonl", 1, "max_event_depth"), ("b.json", 1, "max_event_depth"), ("c.jsonl", 1, None)]
    assert items[0].message == "the event is nested deeper than max_event_depth (100 levels)"


def test_api_events_too_deep_raise_one_clear_value_error(compile_one):
    rs = compile_one("    sel:\n        v: 1\n    condition: sel\n")
    cyclic: dict = {"v": 1}
    cyclic["self"] = cyclic
    for event in (_nested(10_000, "dict"), _nested(10_000, "list"), cyclic,
                  {"Event": {"System": {"EventID": 1}, "EventData": {"x": _nested(LIMIT, "list")}}}):
        with pytest.raises(ValueError, match=r"^the event is nested deeper than max_event_depth"):
            rs.match(event)
    assert rs.match(_nested(LIMIT, "dict")) == []  # at the limit: matched (and no match here)


def test_to_text_of_deeply_nested_lists_needs_no_recursion():
    value = "x"
    for _ in range(20_000):
        value = [value, 1]
    text = to_text(value)
    assert text.__class__ is Multi and text[0] == "x" and len(text) == 20_001


def test_evtx_records_over_the_limits_are_problems_naming_them():
    f = str(next(EXAMPLES.glob("logs/*.evtx")))
    for options, limit in ((Options(max_event_bytes=200), "max_event_bytes"),
                           (Options(max_event_depth=3), "max_event_depth")):
        items = list(read_file(f, options))
        assert [(i.record, i.lost, i.limit) for i in items] == [(1, 1, limit)]
        assert limit in items[0].message


# --- size: bounded reading ---------------------------------------------------------------------

def test_a_jsonl_line_over_max_event_bytes_is_skipped_unread(tmp_path):
    f = tmp_path / "big.jsonl"
    with open(f, "wb") as fh:
        fh.write(b'{"n": 1}\n{"s": "')
        fh.write(b"x" * (20 << 20))
        fh.write(b'"}\n{"n": 3}\n')
    tracemalloc.start()
    try:
        items = list(read_file(str(f), Options(max_event_bytes=1 << 20)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(i.record, getattr(i, "event", None), getattr(i, "limit", None)) for i in items] == [
        (1, {"n": 1}, None), (2, None, "max_event_bytes"), (3, {"n": 3}, None)]
    assert items[1].message == ("line is larger than max_event_bytes (20,971,529 bytes): "
                                "the limit is 1,048,576 bytes")
    assert peak < 4 << 20  # the 20 MB line was never held


def test_a_json_element_over_max_event_bytes_is_not_copied(tmp_path):
    f = tmp_path / "big.json"
    with open(f, "wb") as fh:
        fh.write(b'[{"n": 1}, {"s": "' + b"x" * (20 << 20) + b'"}, {"n": 3}]')
    tracemalloc.start()
    try:
        items = list(read_file(str(f), Options(max_event_bytes=1 << 20)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(i.record, getattr(i, "limit", None)) for i in items] == [
        (1, None), (2, "max_event_bytes"), (3, None)]
    assert peak < 4 << 20


def test_stdin_lines_are_bounded_too():
    stream = io.BytesIO(b'{"n": 1}\n' + b"[" * 5000 + b"\n" + b'{"n": 3}\n')
    items = list(read_jsonl_stream(stream, "<stdin>", Options(max_event_bytes=1000)))
    assert [(i.record, getattr(i, "limit", None)) for i in items] == [
        (1, None), (2, "max_event_bytes"), (3, None)]


# --- big integers: the same event, the same matches, by every path -------------------------

BIG = 18446744073709551617  # 2**64 + 1: orjson alone reads it as 1.8446744073709552e19


@settings(max_examples=60, deadline=None)
@given(n=st.one_of(st.integers(min_value=2**64, max_value=10**40),
                   st.integers(min_value=-10**40, max_value=-2**63 - 1),
                   st.integers(min_value=-2**63, max_value=2**64 - 1)),
       pretty=st.booleans())
def test_integers_arrive_exact_by_every_reader_path(n, pretty):
    event = {"n": n, "l": [n, {"m": n}]}
    text = json.dumps(event, indent=2 if pretty else None).encode()
    paths = [_items(text.replace(b"\n", b" ") + b"\n", ".jsonl"), _items(b"[" + text + b"]", ".json"),
             _items(text, ".json"),
             list(read_events(["-"], io.BytesIO(text.replace(b"\n", b" ") + b"\n")))]
    for items in paths:
        assert [i.event for i in items] == [event]
        assert type(items[0].event["n"]) is int


@pytest.fixture(scope="module")
def big_rules():
    rules = [rule_yaml(f"    sel:\n        n: {BIG}\n    condition: sel\n", logsource="product: x",
                       rid="00000000-0000-4000-8000-0000000000b1", title="equals"),
             rule_yaml(f"    sel:\n        n|gt: {BIG - 1}\n    condition: sel\n", logsource="product: x",
                       rid="00000000-0000-4000-8000-0000000000b2", title="greater"),
             rule_yaml(f"    sel:\n        n|lt: {BIG}\n    condition: sel\n", logsource="product: x",
                       rid="00000000-0000-4000-8000-0000000000b3", title="less")]
    rs = sigcc.compile(rules, sigcc.Options(logsource="ignore"))
    assert not [d for d in rs.diagnostics if d.severity == "error"]
    return rs


def test_a_big_integer_matches_the_same_rules_by_every_path(big_rules, tmp_path):
    text = b'{"n": 18446744073709551617}'
    events = {"api": {"n": BIG}}
    for name, items in (("jsonl", _items(text + b"\n", ".jsonl")),
                        ("json", _items(b"[" + text + b"]", ".json")),
                        ("stdin", list(read_events(["-"], io.BytesIO(text + b"\n"))))):
        events[name] = items[0].event
    hits = {name: sorted(m.title for m in big_rules.match(ev)) for name, ev in events.items()}
    assert hits == {name: ["equals", "greater"] for name in events}


def test_scan_reports_a_deep_event_and_reads_the_next_file(tmp_path):
    deep = tmp_path / "a.jsonl"
    deep.write_bytes(b'{"v": ' + b"[" * 1000 + b"]" * 1000 + b"}\n")
    good = tmp_path / "b.jsonl"
    good.write_bytes(b'{"n": 18446744073709551617}\n')
    rules = tmp_path / "r.yml"
    rules.write_text(rule_yaml(f"    sel:\n        n: {BIG}\n    condition: sel\n", logsource="product: x"),
                     encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "sigcc", "scan", "--no-logsource", "--rules", str(rules),
                           str(deep), str(good)], capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert (f"sigcc: skipped {deep} record 1: the event is nested deeper than max_event_depth "
            "(100 levels)") in err
    assert [json.loads(line)["file"] for line in proc.stdout.splitlines()] == [str(good)]
    assert "1 records over max_event_depth" in " ".join(err.split())
    assert "Traceback" not in err
