"""`sigcc coverage`: the Navigator layer is of format 4.5, and its counts are the rules'."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigcc.cli import main
from sigcc.compiler.build import load_rules
from sigcc.coverage.attack import read_tags
from sigcc.coverage.layer import LEVEL_WEIGHTS, collect, rule_refs, select, to_layer
from tests.conftest import SIGMA, needs_shared

HEX = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")
TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
LAYOUT = {"layout": {"side", "flat", "mini"}, "aggregateFunction": {"average", "min", "max", "sum"},
          "showID": bool, "showName": bool, "showAggregateScores": bool, "countUnscored": bool,
          "expandedSubtechniques": {"none", "all", "annotated"}}
TOP = {"name": str, "versions": dict, "domain": {"enterprise-attack", "mobile-attack", "ics-attack"},
       "description": str, "sorting": {0, 1, 2, 3}, "layout": dict, "hideDisabled": bool,
       "techniques": list, "gradient": dict, "legendItems": list, "metadata": list,
       "links": list, "showTacticRowBackground": bool, "tacticRowBackground": HEX,
       "selectTechniquesAcrossTactics": bool, "selectSubtechniquesWithParent": bool,
       "selectVisibleTechniques": bool, "filters": dict}
TECHNIQUE = {"techniqueID": TECHNIQUE_ID, "tactic": str, "score": (int, float), "color": str,
             "comment": str, "enabled": bool, "metadata": list, "links": list,
             "showSubtechniques": bool}


def _check(value, spec, where):
    if isinstance(spec, set):
        assert value in spec, (where, value)
    elif isinstance(spec, re.Pattern):
        assert isinstance(value, str) and spec.match(value), (where, value)
    else:
        assert isinstance(value, spec) and not (isinstance(value, bool) and spec is not bool
                                                and bool not in (spec if isinstance(spec, tuple)
                                                                 else (spec,))), (where, value)


def _fields(obj, spec, where, required):
    assert isinstance(obj, dict), where
    assert set(obj) <= set(spec), (where, set(obj) - set(spec))  # the format has no other keys
    assert set(required) <= set(obj), (where, set(required) - set(obj))
    for k, v in obj.items():
        _check(v, spec[k], f"{where}.{k}")


def _metadata(items, where):
    for m in items:
        if "divider" in m:
            assert set(m) == {"divider"} and isinstance(m["divider"], bool), where
        else:
            _fields(m, {"name": str, "value": str}, where, ("name", "value"))


def check_layer(layer: dict) -> None:
    """The ATT&CK Navigator layer format 4.5: fields, their types and allowed values."""
    _fields(layer, TOP, "layer", ("name", "versions", "domain", "techniques"))
    _fields(layer["versions"], {"attack": str, "navigator": str, "layer": str}, "versions",
            ("attack", "navigator", "layer"))
    assert layer["versions"]["layer"] == "4.5"
    assert re.fullmatch(r"\d+(\.\d+)*", layer["versions"]["navigator"])
    assert re.fullmatch(r"\d+", layer["versions"]["attack"])
    _fields(layer["layout"], LAYOUT, "layout", ())
    g = layer["gradient"]
    _fields(g, {"colors": list, "minValue": (int, float), "maxValue": (int, float)}, "gradient",
            ("colors", "minValue", "maxValue"))
    assert len(g["colors"]) >= 2 and all(HEX.match(c) for c in g["colors"])
    assert g["maxValue"] > g["minValue"]
    for item in layer["legendItems"]:
        _fields(item, {"label": str, "color": HEX}, "legendItems[]", ("label", "color"))
    _metadata(layer["metadata"], "metadata")
    seen = set()
    for t in layer["techniques"]:
        _fields(t, TECHNIQUE, f"technique {t.get('techniqueID')}", ("techniqueID",))
        assert t.get("color", "") == "" or HEX.match(t["color"])
        _metadata(t.get("metadata", []), t["techniqueID"])
        for link in t.get("links", []):
            _fields(link, {"label": str, "url": str, "divider": bool}, "link", ())
        key = (t["techniqueID"], t.get("tactic"))
        assert key not in seen, key
        seen.add(key)
        assert g["minValue"] <= t["score"] <= g["maxValue"]


# --- generated rule sets ----------------------------------------------------------------

LEVELS = ("informational", "low", "medium", "high", "critical", None)
STATUSES = ("stable", "test", "experimental", "deprecated", None)
TAGS = st.one_of(
    st.builds(lambda n, s, up: ("attack.T" if up else "attack.t") + f"{n:04d}"
              + (f".{s:03d}" if s is not None else ""),
              st.integers(1000, 1010), st.one_of(st.none(), st.integers(1, 3)), st.booleans()),
    st.sampled_from(["attack.execution", "attack.persistence", "attack.stealth",
                     "attack.defense_evasion", "attack.defense-impairment", "attack.ta0002",
                     "attack.g0016", "attack.s0002", "attack.t105", "attack.t1059.01",
                     "attack.foo", "car.2016-04-005", "cve.2021-44228", "detection.threat-hunting"]))
RULES = st.lists(st.tuples(st.lists(TAGS, max_size=6), st.sampled_from(LEVELS),
                           st.sampled_from(STATUSES)), min_size=1, max_size=12)
DIRECT_TECHNIQUE = re.compile(r"^attack\.t(\d{4})(\.\d{3})?$", re.I)


def _text(i, tags, level, status):
    doc = {"title": f"Rule {i}", "id": f"00000000-0000-4000-8000-{i:012d}",
           "logsource": {"product": "windows", "category": "process_creation"},
           "detection": {"sel": {"CommandLine|contains": f"x{i}"}, "condition": "sel"},
           "tags": tags}
    if level:
        doc["level"] = level
    if status:
        doc["status"] = status
    return yaml.safe_dump(doc, sort_keys=False)


def _direct(rules, min_level, status):
    """Per technique: (rules, score); per tactic: rules — counted straight from the tags."""
    rank = {lv: i for i, lv in enumerate(LEVELS[:-1])}
    techniques: dict[str, list] = {}
    tactics: Counter = Counter()
    for tags, level, st_ in rules:
        if min_level and rank.get(level or "", -1) < rank[min_level]:
            continue
        if status and (st_ or "none") not in status:
            continue
        ids = {"T" + m.group(1) + (m.group(2) or "") for m in map(DIRECT_TECHNIQUE.match, tags) if m}
        for t in ids:
            techniques.setdefault(t, []).append(LEVEL_WEIGHTS.get(level or "", 1))
        names = {t[7:].replace("_", "-").upper() if t.startswith("attack.ta") else
                 t[7:].replace("_", "-") for t in tags
                 if t in ("attack.execution", "attack.persistence", "attack.stealth",
                          "attack.defense_evasion", "attack.defense-impairment", "attack.ta0002")}
        tactics.update(names)
    return {t: (len(w), sum(w)) for t, w in techniques.items()}, tactics


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=RULES, min_level=st.sampled_from([None, "low", "high"]),
       status=st.sampled_from([(), ("test",), ("stable", "none")]))
def test_counts_equal_a_direct_count_over_the_rules(rules, min_level, status):
    result = load_rules([_text(i, *r) for i, r in enumerate(rules)])
    assert not result.errors, [d.render() for d in result.errors]
    kept, left_out = select(rule_refs(result), min_level, status)
    cov = collect(kept)
    layer = to_layer(cov)
    check_layer(layer)
    techniques, tactics = _direct(rules, min_level, status)
    assert {t["techniqueID"]: (int(t["metadata"][0]["value"]), t["score"])
            for t in layer["techniques"]} == techniques
    assert {t: len(rs) for t, rs in cov.tactics.items()} == dict(tactics)
    assert len(kept) + left_out == len(rules)
    for t in layer["techniques"]:
        assert len(t["comment"].splitlines()) == techniques[t["techniqueID"]][0]


def test_tags_are_read_as_attack_writes_them():
    tags = read_tags(["attack.T1059.001", "attack.t1059.001", "attack.execution",
                      "attack.defense_evasion", "attack.TA0002", "attack.g0016", "attack.t105",
                      "cve.2021-1", 7])
    assert tags.techniques == ("T1059.001",)
    assert tags.tactics == ("execution", "defense-evasion", "TA0002")
    assert tags.other == ("G0016",) and tags.unknown == ("attack.t105",)


def test_layer_contents():
    result = load_rules([_text(1, ["attack.t1003.001", "attack.credential-access"], "critical",
                               "stable"),
                         _text(2, ["attack.t1003.001", "attack.t1003"], None, None)])
    layer = to_layer(collect(rule_refs(result)), name="n")
    check_layer(layer)
    (parent, sub) = layer["techniques"]
    assert (parent["techniqueID"], parent["score"]) == ("T1003", 1)
    assert (sub["techniqueID"], sub["score"]) == ("T1003.001", 6)
    assert sub["comment"] == ("Rule 1 (critical, 00000000-0000-4000-8000-000000000001)\n"
                              "Rule 2 (no level, 00000000-0000-4000-8000-000000000002)")
    assert sub["metadata"] == [{"name": "rules", "value": "2"}, {"name": "critical", "value": "1"},
                               {"name": "no level", "value": "1"}]
    assert layer["gradient"]["maxValue"] == 6
    assert layer["versions"] == {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}


def test_the_schema_check_rejects_what_the_format_does_not_allow():
    good = to_layer(collect(rule_refs(load_rules([_text(1, ["attack.t1003"], "low", None)]))))
    check_layer(good)
    for broken in ({**good, "versions": {**good["versions"], "layer": "4.4"}},
                   {**good, "domain": "enterprise"},
                   {**good, "techniques": [{**good["techniques"][0], "techniqueID": "t1003"}]},
                   {**good, "techniques": [{**good["techniques"][0], "score": "3"}]},
                   {**good, "techniques": good["techniques"] * 2},
                   {**good, "gradient": {**good["gradient"], "colors": ["red", "blue"]}},
                   {**good, "extra": 1}):
        with pytest.raises(AssertionError):
            check_layer(broken)


# --- the command line ---------------------------------------------------------------------

@pytest.fixture
def rule_dir(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    specs = [(["attack.execution", "attack.t1059.001"], "high", "stable"),
             (["attack.execution", "attack.t1059.001", "attack.t1059"], "low", "test"),
             (["attack.persistence", "attack.t1547.001"], "medium", "experimental"),
             (["attack.foo"], "informational", None)]
    for i, s in enumerate(specs):
        (d / f"r{i}.yml").write_text(_text(i, *s))
    (d / "bad.yml").write_text("title: broken\ndetection: [\n")
    return d


def test_cli_writes_the_layer_and_prints_per_tactic_counts(rule_dir, tmp_path, capsys):
    out_file = tmp_path / "out" / "layer.json"
    assert main(["coverage", str(rule_dir), "-o", str(out_file), "--name", "mine"]) == 0
    out, err = capsys.readouterr()
    layer = json.loads(out_file.read_text())
    check_layer(layer)
    assert layer["name"] == "mine"
    assert {t["techniqueID"]: t["score"] for t in layer["techniques"]} == {
        "T1059": 2, "T1059.001": 6, "T1547.001": 3}
    assert out.splitlines() == [
        "tactic            rules  techniques",
        "execution             2           2",
        "persistence           1           1",
        "(no tactic tag)       1",
        "4 rules counted of 4; 3 tagged with techniques: 1 technique, 2 sub-techniques",
        "attack tags not understood (not counted): attack.foo (1)",
    ]
    assert "1 rule(s) with errors are not counted" in err


def test_cli_filters_and_json_counts(rule_dir, capsys):
    assert main(["coverage", str(rule_dir), "-o", "-", "--min-level", "medium",
                 "--status", "stable,experimental", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    layer = json.loads(out)
    check_layer(layer)
    assert {t["techniqueID"] for t in layer["techniques"]} == {"T1059.001", "T1547.001"}
    counts = json.loads(err.splitlines()[-1] if err.strip().startswith("{") else
                        next(x for x in err.splitlines() if x.startswith("{")))
    assert (counts["rules"], counts["counted"], counts["left_out_by_filters"]) == (4, 2, 2)


def test_cli_bad_input(rule_dir, tmp_path, capsys):
    assert main(["coverage", str(rule_dir), "--status", "stabel"]) == 1
    assert "--status 'stabel': not a Sigma status" in capsys.readouterr().err
    assert main(["coverage", str(rule_dir), "-o", str(tmp_path / "l.json"),
                 "--min-level", "critical"]) == 1
    assert "nothing to count (the filters left none of the 4 rules)" in capsys.readouterr().err
    assert main(["coverage", str(rule_dir), str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == (f"sigcc coverage: {tmp_path / 'nope'}: no such rule file "
                                       "or directory\n")
    (tmp_path / "f").write_text("")
    assert main(["coverage", str(rule_dir), "-o", str(tmp_path / "f" / "l.json")]) == 1
    assert "cannot write" in capsys.readouterr().err


@needs_shared
@pytest.mark.slow
def test_sigmahq_rules_counted_directly(tmp_path, capsys):
    """On SigmaHQ's rules/: the layer validates, and each technique's rule count and score
    equal a count over the rule files read with plain yaml.safe_load."""
    out_file = tmp_path / "layer.json"
    assert main(["coverage", str(SIGMA / "rules"), "-o", str(out_file), "--format", "json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    layer = json.loads(out_file.read_text())
    check_layer(layer)
    direct: dict[str, list] = {}
    n = 0
    for f in sorted((SIGMA / "rules").rglob("*.yml")):
        for doc in yaml.load_all(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if not isinstance(doc, dict) or "detection" not in doc and "correlation" not in doc:
                continue
            n += 1
            ids = {"T" + m.group(1) + (m.group(2) or "")
                   for m in map(DIRECT_TECHNIQUE.match, doc.get("tags") or []) if m}
            for t in ids:
                direct.setdefault(t, []).append(LEVEL_WEIGHTS.get(doc.get("level") or "", 1))
    assert counts["counted"] == counts["rules"] == n
    assert {t["techniqueID"]: (int(t["metadata"][0]["value"]), t["score"])
            for t in layer["techniques"]} == {t: (len(w), sum(w)) for t, w in direct.items()}
