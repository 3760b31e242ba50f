"""Event readers: every event is read or reported, never silently dropped."""
from __future__ import annotations

import io

import pytest

from sigcc.runtime.inputs import Problem, Record, read_events, read_jsonl_stream
from tests.conftest import EXAMPLES, EVTX_SAMPLES, needs_evtx_samples


def _split(items):
    recs = [i for i in items if isinstance(i, Record)]
    probs = [i for i in items if isinstance(i, Problem)]
    return recs, probs


def test_jsonl_line_numbers_and_malformed_lines(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text('{"a": 1}\n\n{"a": 2\n[1, 2]\n{"a": 3}\n', encoding="utf-8")
    recs, probs = _split(list(read_events([str(f)])))
    assert [(r.record, r.event["a"]) for r in recs] == [(1, 1), (5, 3)]
    assert [(p.record, p.message.split(":")[0]) for p in probs] == [
        (3, "malformed JSON"), (4, "not a JSON object but a list")]


@pytest.mark.parametrize("text, expected", [
    ('[{"a": 1}, {"a": 2}]', [1, 2]),
    ('{"a": 1}', [1]),
    ('{"a": 1}\n{"a": 2}\n', [1, 2]),
    ('{\n  "a": 1\n}\n{\n  "a": 2\n}', [1, 2]),  # concatenated pretty-printed objects
], ids=["array", "object", "lines", "concatenated"])
def test_json_shapes(tmp_path, text, expected):
    f = tmp_path / "e.json"
    f.write_text(text, encoding="utf-8")
    recs, probs = _split(list(read_events([str(f)])))
    assert probs == []
    assert [r.event["a"] for r in recs] == expected
    assert [r.record for r in recs] == list(range(1, len(expected) + 1))


def test_json_garbage_after_objects_is_reported(tmp_path):
    f = tmp_path / "e.json"
    f.write_text('{"a": 1}\n{"a": oops}', encoding="utf-8")
    recs, probs = _split(list(read_events([str(f)])))
    assert [r.event for r in recs] == [{"a": 1}]
    assert len(probs) == 1 and probs[0].record == 2 and "malformed JSON" in probs[0].message


def test_missing_unreadable_and_unsupported_files(tmp_path):
    bad_evtx = tmp_path / "broken.evtx"
    bad_evtx.write_bytes(b"not an evtx file at all")
    other = tmp_path / "notes.txt"
    other.write_text("x")
    recs, probs = _split(list(read_events([str(tmp_path / "nope.jsonl"), str(bad_evtx), str(other)])))
    assert recs == []
    assert [p.file for p in probs] == [str(tmp_path / "nope.jsonl"), str(bad_evtx), str(other)]
    assert "no such file" in probs[0].message
    assert "EVTX" in probs[1].message
    assert "unsupported input type .txt" in probs[2].message


def test_directories_are_searched_recursively(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.jsonl").write_text('{"n": 1}\n')
    (tmp_path / "y.json").write_text('[{"n": 2}]')
    (tmp_path / "ignored.txt").write_text("not events")
    recs, probs = _split(list(read_events([str(tmp_path)])))
    assert sorted(r.event["n"] for r in recs) == [1, 2] and probs == []


def test_empty_directory_is_reported(tmp_path):
    recs, probs = _split(list(read_events([str(tmp_path)])))
    assert recs == [] and "no .evtx" in probs[0].message


def test_stdin_jsonl():
    items = list(read_jsonl_stream(io.BytesIO(b'{"a": 1}\nnot json\n'), "<stdin>"))
    recs, probs = _split(items)
    assert [r.record for r in recs] == [1] and [p.record for p in probs] == [2]


def test_evtx_records_carry_event_record_id():
    f = next(EXAMPLES.glob("logs/*.evtx"))
    recs, probs = _split(list(read_events([str(f)])))
    assert probs == [] and recs
    assert all(r.record >= 1 for r in recs)
    assert "Event" in recs[0].event and "System" in recs[0].event["Event"]


@needs_evtx_samples
def test_whole_evtx_corpus_reads_without_problems():
    recs, probs = _split(list(read_events([str(EVTX_SAMPLES)])))
    assert len(recs) > 10_000
    assert probs == []
