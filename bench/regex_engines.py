"""Regex engines measured: Python `re` against sigcc's engine (RE2, or the bounded `regex`
engine; sigcc/runtime/regex_engine.py), every figure a ratio to `re` in the same run.

    .venv/bin/python bench/regex_engines.py [--quick] [--shared ../shared] [--hostile-limit 10]

1. Per test, on real data: every regex (`|re`, `search`) and every wildcard glob
   (`fullmatch`, as the generated modules test them) of the SigmaHQ rules under
   sigma/rules, rules-emerging-threats and rules-threat-hunting, against every distinct
   string value of the events of corpora/evtx-samples. Total seconds and ns per test for
   `re` and the engine, by value length; and the patterns where `re` is slowest.
2. Hostile patterns and values (the issue's cases): the engine's time, and `re`'s in a
   child process stopped after --hostile-limit seconds.
3. Scan: the Windows rules as one generated module, matching the corpus events (parsed
   beforehand: matching only, no JSON reading), once with the module's `regex`, `search`
   and `fullmatch` helpers as shipped and once with `re`-based ones (the helpers before
   the engine). Events/s both, and the ratio; both must find the same matches.

--quick keeps every 4th corpus value and event.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sigcc  # noqa: E402
from sigcc.compiler import patterns  # noqa: E402
from sigcc.backends.python.emitter import regex_tests  # noqa: E402
from sigcc.runtime import helpers  # noqa: E402
from sigcc.runtime.events import flatten  # noqa: E402
from sigcc.runtime.inputs import Problem, read_events  # noqa: E402
from sigcc.runtime.regex_engine import Regex, flag_bits  # noqa: E402
from sigcc.runtime.values import Multi  # noqa: E402

RULE_DIRS = ("rules", "rules-emerging-threats", "rules-threat-hunting")
BUCKETS = ((64, "<= 64 chars"), (1024, "65-1024 chars"), (None, "> 1024 chars"))
TOKEN_OBFUSCATION = r"\w+`(?:\w+|-|.)`[\w+|\s]"  # proc_creation_win_powershell_token_obfuscation
HOSTILE = [  # (what, pattern, flags, mode, value)
    ("(a+)+$, 50,000 a + b", r"(a+)+$", "", "search", "a" * 50_000 + "b"),
    ("(.*a){20}, 19 a among 50,000 b", r"(.*a){20}", "", "search", ("a" + "b" * 2_600) * 19),
    ("(x|xx)+y, 100,000 x", r"(x|xx)+y", "", "search", "x" * 100_000),
    ("token obfuscation rule, 32,000-char CommandLine", TOKEN_OBFUSCATION, "", "search",
     "a" * 16_000 + "`" + "a" * 16_000),
    ("glob *a*a*a*a*b, 100,000 a", patterns.to_regex(patterns.parse("*a*a*a*a*b")), "s",
     "fullmatch", "a" * 100_000),
    ("look-behind (?<=x)(a|aa)+c (bounded), 100,000 a", r"(?<=x)(a|aa)+c", "", "search",
     "x" + "a" * 100_000),
]


def sigma_patterns(rules) -> list[tuple[str, str, str]]:
    out: dict = {}
    for r in rules:
        for s in r.searches:
            regex_tests(s.expr, out)
    return list(out)


def corpus(shared: Path, every: int) -> tuple[list[dict], list[str]]:
    events, values = [], set()
    for n, item in enumerate(read_events([str(shared / "corpora" / "evtx-samples")])):
        if isinstance(item, Problem) or n % every:
            continue
        events.append(item.event)
        for v in flatten(item.event).values():
            for x in (v if isinstance(v, list) else [v]):
                if isinstance(x, str):
                    values.add(x)
    return events, sorted(values)


def per_test(pats, values) -> None:
    print(f"\n1. Per test: {len(pats)} SigmaHQ patterns x {len(values):,} distinct corpus values")
    by_len: dict[str, list[str]] = {label: [] for _, label in BUCKETS}
    for v in values:
        by_len[next(label for lim, label in BUCKETS if lim is None or len(v) <= lim)].append(v)
    worst = []
    print(f"   {'values':<16}{'tests':>12}{'re ns/test':>13}{'engine ns/test':>16}{'engine/re':>11}")
    tot_re = tot_en = 0.0
    for label, vals in by_len.items():
        t_re = t_en = 0.0
        for pattern, flags, mode in pats:
            ref = getattr(re.compile(pattern, flag_bits(flags)), mode)
            ours = getattr(Regex(pattern, flags), mode)
            ours("x"), ours("\xe9")  # compile both variants outside the timing
            t0 = time.perf_counter()
            for v in vals:
                ref(v)
            t1 = time.perf_counter()
            for v in vals:
                ours(v)
            t2 = time.perf_counter()
            t_re += t1 - t0
            t_en += t2 - t1
            worst.append((t1 - t0, t2 - t1, pattern, label))
        n = len(vals) * len(pats)
        tot_re, tot_en = tot_re + t_re, tot_en + t_en
        print(f"   {label:<16}{n:>12,}{t_re / max(n, 1) * 1e9:>13.0f}{t_en / max(n, 1) * 1e9:>16.0f}"
              f"{t_en / max(t_re, 1e-12):>10.2f}x")
    print(f"   all: re {tot_re:.2f} s, engine {tot_en:.2f} s, engine/re {tot_en / tot_re:.2f}x")
    print("   where re is slowest (seconds over one length bucket):")
    for t_re, t_en, pattern, label in sorted(worst, reverse=True)[:5]:
        print(f"     re {t_re:7.3f} s  engine {t_en:7.3f} s  {label:<14} {pattern[:70]!r}")


def _re_child(pattern, flags, mode, value, q) -> None:
    t0 = time.perf_counter()
    getattr(re.compile(pattern, flag_bits(flags)), mode)(value)
    q.put(time.perf_counter() - t0)


def hostile(limit: float) -> None:
    print(f"\n2. Hostile cases (re in a child process, stopped after {limit:g} s)")
    for what, pattern, flags, mode, value in HOSTILE:
        rx = Regex(pattern, flags, timeout=0.5)
        t0 = time.perf_counter()
        try:
            got = str(getattr(rx, mode)(value))
        except Exception as exc:  # the bounded engine's RegexTimeout
            got = type(exc).__name__
        t_en = time.perf_counter() - t0
        q = mp.Queue()
        p = mp.Process(target=_re_child, args=(pattern, flags, mode, value, q))
        p.start()
        p.join(limit)
        if p.is_alive():
            p.terminate()
            p.join()
            t_re = f"> {limit:g} s (stopped)"
        else:
            t_re = f"{q.get():.3f} s"
        print(f"   {what:<52} engine {t_en:8.4f} s ({got}), re {t_re}")


def _re_regex(pattern: str, flags: str = "", timeout=None):
    return re.compile(pattern, flag_bits(flags))


def _re_fullmatch(rx, v) -> bool:
    if v.__class__ is str:
        return rx.fullmatch(v) is not None
    return v.__class__ is Multi and any(rx.fullmatch(x) is not None for x in v)


def _re_search(rx, v) -> bool:
    if v.__class__ is str:
        return rx.search(v) is not None
    return v.__class__ is Multi and any(rx.search(x) is not None for x in v)


def scan(source: str, events: list[dict]) -> None:
    print(f"\n3. Scan: Windows rules, {len(events):,} corpus events (matching only)")
    shipped = (helpers.regex, helpers.search, helpers.fullmatch)
    results = {}
    for name in ("engine", "re"):
        if name == "re":
            helpers.regex, helpers.search, helpers.fullmatch = _re_regex, _re_search, _re_fullmatch
        try:
            rs = sigcc.Ruleset.from_source(source)
        finally:
            helpers.regex, helpers.search, helpers.fullmatch = shipped
        for e in events[:200]:  # warm-up: compiles what the first events need
            rs.match(e)
        best, matches = None, None
        for _ in range(2):
            t0 = time.perf_counter()
            found = [tuple(m.rule_id for m in rs.match(e)) for e in events]
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
            matches = found
        results[name] = (best, matches, len(rs.errors))
    (t_en, m_en, e_en), (t_re, m_re, e_re) = results["engine"], results["re"]
    n = len(events)
    print(f"   engine {n / t_en:>10,.0f} events/s   re {n / t_re:>10,.0f} events/s   "
          f"engine/re speed {t_re / t_en:.2f}x   matches {sum(map(len, m_en)):,}"
          f" ({'same' if m_en == m_re else 'DIFFERENT'}), rule errors {e_en}/{e_re}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--quick", action="store_true", help="every 4th corpus value and event")
    ap.add_argument("--hostile-limit", type=float, default=10.0, help="seconds re may take")
    ns = ap.parse_args()
    shared = Path(ns.shared)
    every = 4 if ns.quick else 1
    files = sorted(str(p) for d in RULE_DIRS for p in (shared / "sigma" / d).rglob("*.yml"))
    source, result = sigcc.build_module(files, sigcc.Options())
    pats = sigma_patterns(result.rules)
    events, values = corpus(shared, every)
    per_test(pats, values[::every] if every > 1 else values)
    hostile(ns.hostile_limit)
    windows = [str(r.meta.file) for r in result.rules if r.meta.logsource.product == "windows"]
    win_source, _ = sigcc.build_module(sorted(set(windows)), sigcc.Options())
    scan(win_source, events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
