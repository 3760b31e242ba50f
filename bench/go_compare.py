"""The sigcc side of the comparison with the Go engine (docs/migrating-from-go.md).

    .venv/bin/python bench/go_compare.py [--shared ../shared] [--out DIR] [--go GO_OUTPUT]

1. Writes DIR/events.jsonl (default DIR: bench/.cache/go): every event of
   corpora/evtx-samples and of sigma/regression_data's .evtx files, in that order, flattened
   as sigcc flattens them (`sigcc.runtime.events.flatten`) — the Go engine reads no EVTX, so
   it is given these flat objects, one per line.
2. Matches every rule of sigma/rules/windows against every event, as the Go engine does
   (logsource ignored), once with sigcc's defaults otherwise and once with `--compat go`,
   and writes DIR/sigcc.tsv and DIR/sigcc-compat-go.tsv: one `line<TAB>rule id` per match.
3. With --go FILE (the output of the Go driver the doc describes: `LOAD<TAB>ok|fail|unsupported
   <TAB>path<TAB>id<TAB>reason` per rule file, `MATCH<TAB>line<TAB>id` per match), prints the
   counts the doc quotes: rules Go fails to load, by reason, and matches both engines find,
   only sigcc finds, only Go finds, on the rules both load.

Needs no Go itself; reads ../shared and writes only under DIR.
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sigcc  # noqa: E402
from sigcc.compat import compat_options  # noqa: E402
from sigcc.runtime.events import flatten  # noqa: E402
from sigcc.runtime.inputs import Problem, read_events  # noqa: E402


def write_events(shared: Path, out: Path) -> int:
    paths = sorted(str(p) for p in (shared / "sigma" / "regression_data").rglob("*.evtx"))
    paths.append(str(shared / "corpora" / "evtx-samples"))
    n = 0
    with out.open("wb") as fh:
        for item in read_events(paths):
            if isinstance(item, Problem):
                print(f"skipped {item.file}: {item.message}", file=sys.stderr)
                continue
            fh.write(orjson.dumps(flatten(item.event), default=str) + b"\n")
            n += 1
    return n


def scan(rules: Path, events: Path, options: sigcc.Options, out: Path) -> tuple[int, int, int]:
    rs = sigcc.compile([str(rules)], options)
    errors = [d for d in rs.diagnostics if d.severity == "error"]
    hits = 0
    with events.open("rb") as fh, out.open("w") as w:
        for line, text in enumerate(fh, 1):
            for m in rs.match(orjson.loads(text)):
                w.write(f"{line}\t{m.rule_id}\n")
                hits += 1
    return len(rs), hits, len(errors)


_REASONS = [  # (pattern in Go's error text, cause as the doc names it)
    (r"^multipart$", "--- inside a string (file taken as multi-document)"),
    (r"specifier i invalid", "re|i"), (r"specifier (\w+) invalid", r"\1"),
    (r"unable to reflect", "field: null"), (r"unknown rule kind", "|all keyword map"),
    (r"got bool", "boolean value"), (r"mixed type slice", "list mixing numbers and strings"),
    (r"root container", "keyword list matched by 1 of x*"),
]


def reason(text: str) -> str:
    for pattern, name in _REASONS:
        m = re.search(pattern, text)
        if m:
            return m.expand(name)
    return text


def compare(go_output: Path, sigcc_tsv: Path, show_loading: bool) -> None:
    loaded, failed, go = set(), collections.Counter(), set()
    for row in go_output.read_text().splitlines():
        f = row.split("\t")
        if f[0] == "LOAD":
            if f[1] == "ok":
                loaded.add(f[3])
            else:
                failed[reason(f[4])] += 1
        elif f[0] == "MATCH":
            go.add((int(f[1]), f[2]))
    ours = {(int(a), b) for a, b in (r.split("\t") for r in sigcc_tsv.read_text().splitlines())}
    both_loaded = {m for m in ours if m[1] in loaded}
    if show_loading:
        print(f"Go: {len(loaded)} rule files loaded, {sum(failed.values())} not:")
        for name, n in failed.most_common():
            print(f"  {n:5}  {name}")
    rest = ours - both_loaded
    print(f"sigcc ({sigcc_tsv.name}): {len(ours)} matches, {len(rest)} of them from "
          f"{len({r for _, r in rest})} rules Go does not load")
    print(f"on the rules both load: both {len(both_loaded & go)}, only sigcc "
          f"{len(both_loaded - go)}, only Go {len(go - both_loaded)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / ".cache" / "go")
    ap.add_argument("--go", type=Path, help="the Go driver's output, to compare with")
    ns = ap.parse_args()
    ns.out.mkdir(parents=True, exist_ok=True)
    events = ns.out / "events.jsonl"
    t = time.perf_counter()
    print(f"{write_events(ns.shared, events)} events -> {events} ({time.perf_counter() - t:.1f}s)")
    rules = ns.shared / "sigma" / "rules" / "windows"
    runs = (("sigcc.tsv", sigcc.Options(logsource="ignore")),
            ("sigcc-compat-go.tsv", compat_options("go")))
    for k, (name, options) in enumerate(runs):
        t = time.perf_counter()
        n, hits, errors = scan(rules, events, options, ns.out / name)
        print(f"{name}: {n} rules ({errors} errors), {hits} matches ({time.perf_counter() - t:.1f}s)")
        if ns.go:
            compare(ns.go, ns.out / name, show_loading=k == 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
