"""sigcc spark on a sample of the shared corpora: the EVTX samples and SigmaHQ's regression
events (their .evtx and .json files, and the .json events as JSONL and as Parquet), with the
example correlations over the Security logons among them. Matches equal `sigcc scan`'s as
sets of (file, record, rule_id); firings equal scan's, line for line. One Spark job."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.spark.conftest import REPO, SHARED, firings, match_keys, scan

SAMPLES = Path(SHARED, "corpora", "evtx-samples")
REGRESSION = Path(SHARED, "sigma", "regression_data", "rules", "windows")
SIGMA_WINDOWS = Path(SHARED, "sigma", "rules", "windows")

pytestmark = pytest.mark.skipif(
    not (SAMPLES.is_dir() and REGRESSION.is_dir() and SIGMA_WINDOWS.is_dir()),
    reason=f"the shared corpora are absent ({SAMPLES}, {REGRESSION}, {SIGMA_WINDOWS})")


def _sample():
    """Every 8th EVTX sample up to 1.2 MB plus the password-spraying log; every 3rd
    regression test's rule, .evtx and .json."""
    evtx = sorted(SAMPLES.rglob("*.evtx"))
    picked = [p for i, p in enumerate(evtx) if i % 8 == 0 and p.stat().st_size <= 1_200_000]
    picked += [p for p in evtx if p.name == "password-spray.evtx" and p not in picked]
    dirs = sorted({p.parent for p in REGRESSION.rglob("*.json")})[::3]
    by_name = {p.stem: p for p in SIGMA_WINDOWS.rglob("*.yml")}
    rules = sorted({str(by_name[d.name]) for d in dirs if d.name in by_name})
    reg_evtx = sorted(str(p) for d in dirs for p in d.glob("*.evtx"))
    reg_json = sorted(str(p) for d in dirs for p in d.glob("*.json"))
    return [str(p) for p in picked], rules, reg_evtx, reg_json


def test_corpus_sample_equals_scan(spark, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sigcc.spark.job import load_rules, scan_inputs

    evtx, reg_rules, reg_evtx, reg_json = _sample()
    assert len(evtx) >= 30 and len(reg_rules) >= 20 and len(reg_json) >= 20
    rule_paths = [str(SIGMA_WINDOWS / "builtin"), *reg_rules, os.path.join(REPO, "examples", "correlations")]
    from sigcc.runtime.inputs import Record, read_events
    events = [i.event for i in read_events(reg_json) if isinstance(i, Record)]
    jsonl = tmp_path / "regression.jsonl"
    jsonl.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    parquet = tmp_path / "regression.parquet"
    pq.write_table(pa.table({"event": [json.dumps(e) for e in events]}), str(parquet))
    inputs = evtx + reg_evtx + reg_json + [str(jsonl)]

    rules = load_rules(rule_paths)
    module = tmp_path / "rules.py"
    module.write_text(rules.sources[0], encoding="utf-8")
    rc, ref = scan(["--rules", str(module), *inputs])
    rows, problems = scan_inputs(spark, rules, inputs + [str(parquet)])
    rows = [r.asDict() for r in rows.collect()]
    assert not problems

    got = match_keys(rows)
    want = match_keys(ref)
    want |= {(str(parquet), r, rule) for f, r, rule in want if f == str(jsonl)}
    assert got == want
    kinds = {f.rsplit(".", 1)[1] for f, _, _ in got}
    assert kinds == {"evtx", "json", "jsonl", "parquet"} and len(got) > 100
    # the example correlations fire on the spraying log, as in scan (Parquet/JSONL duplicates
    # of the regression events carry no logons)
    assert firings(rows) == firings(ref) and firings(ref)
    # what scan could not read is a row here too (exit 2 there, problem rows here)
    bad = [r for r in rows if r["kind"] in ("problem", "rule_error")]
    assert (rc == 2) == bool(bad)
