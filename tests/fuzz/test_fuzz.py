"""Fuzzing under hypothesis, bounded (the same targets run unbounded under atheris: `make fuzz`).

Inputs are mutations of the seeds shipped in examples/ (splices of hostile fragments, cut,
duplicated and flipped bytes) plus raw random bytes, so each run reaches both deep into the
parsers and their first error paths. The property lives in tests/fuzz/targets.py.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.fuzz import targets

# fragments that have broken YAML loaders, condition parsers, regex engines and JSON readers
FRAGMENTS = [
    b"*a", b"&a ", b"<<: *a", b"[", b"]", b"{", b"}", b": ", b"- ", b"\n  ", b"\t", b"'", b'"', b"\\",
    b"|re", b"|contains|all", b"|base64offset", b"|windash", b"|expand", b"|cidr", b"|gt", b"%x%",
    b"(a+)+$", b"(.*a){20}", b"(?<=x)", b"\\1", b"*" * 50, b"(" * 80, b")" * 80, b"not " * 40,
    b"1 of them", b"all of sel*", b"| count() > 3", b"\x00", b"\xff\xfe", b"\xed\xa0\x80",
    b"NaN", b"1e999", b"18446744073709551617", b"[[[[[[[[[[", b"{\"a\":" * 30, b"\r", "\u2028".encode(),
    b"action: global\n", b"---\n", b"detection:\n", b"condition: ", b"ElfChnk\x00", b"ElfFile\x00",
]


@st.composite
def mutated(draw, target: str):
    data = bytearray(draw(st.sampled_from(targets.seeds(target))))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(("insert", "delete", "dup", "flip", "cut")))
        at = draw(st.integers(0, len(data)))
        if op == "insert":
            data[at:at] = draw(st.sampled_from(FRAGMENTS)) * draw(st.integers(1, 4))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "dup":
            chunk = data[at:at + draw(st.integers(1, 256))]
            data[at:at] = chunk * draw(st.integers(1, 8))
        elif op == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:]
    return bytes(data)


def inputs(target: str):
    return st.one_of(mutated(target), st.binary(max_size=2048))


SETTINGS = dict(deadline=None, derandomize=False, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("seed_target", sorted(targets.TARGETS))
def test_seeds_pass(seed_target):
    for data in targets.seeds(seed_target):
        targets.TARGETS[seed_target](data)


@settings(max_examples=120, **SETTINGS)
@given(data=inputs("rule"))
def test_fuzz_rule(data):
    targets.fuzz_rule(data)


@settings(max_examples=200, **SETTINGS)
@given(data=st.one_of(inputs("condition"),
                      st.text(st.sampled_from("()abcnotrl _*01|"), max_size=200).map(str.encode)))
def test_fuzz_condition(data):
    targets.fuzz_condition(data)


@settings(max_examples=150, **SETTINGS)
@given(data=inputs("jsonl"))
def test_fuzz_jsonl(data):
    targets.fuzz_jsonl(data)


@settings(max_examples=150, **SETTINGS)
@given(data=inputs("json"))
def test_fuzz_json(data):
    targets.fuzz_json(data)


@settings(max_examples=60, **SETTINGS)
@given(data=inputs("evtx"))
def test_fuzz_evtx(data):
    targets.fuzz_evtx(data)
