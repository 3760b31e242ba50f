"""`sigcc coverage`: the subcommand (registered by sigcc/cli.py's build_parser via `register`).

Writes the ATT&CK Navigator layer (-o FILE, default attack-layer.json; `-o -`: stdout) and
prints the counts per tactic (stdout; stderr when the layer goes to stdout).

Exit status: 0 the layer was written; 1 a RULES path that does not exist, nothing to count
(no rules loaded, or the filters left none), a bad --status/--min-level, or the layer file
could not be written.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from sigcc.coverage.layer import ATTACK_VERSION, LEVEL_WEIGHTS, LEVELS, NO_LEVEL_WEIGHT, STATUSES


def register(sub) -> None:
    from sigcc.cli import _options_args

    c = sub.add_parser(
        "coverage", help="ATT&CK coverage of rules: a Navigator layer and counts per tactic",
        description="Count the rules per ATT&CK technique (tags attack.tNNNN[.NNN]) and tactic "
                    "(attack.<tactic>), write an ATT&CK Navigator layer (format 4.5) whose "
                    "score is the rules weighted by level ("
                    + ", ".join(f"{lv} {w}" for lv, w in LEVEL_WEIGHTS.items())
                    + f", no level {NO_LEVEL_WEIGHT}) and whose comments list the rule "
                      "titles, and print the counts per tactic. Rules with errors are not "
                      "counted (said on stderr). See docs/rule-ci.md.")
    c.add_argument("rules", nargs="+", metavar="RULES", help="rule files or directories")
    c.add_argument("-o", "--output", default="attack-layer.json", metavar="FILE",
                   help="the layer file to write (default: %(default)s; '-': stdout)")
    c.add_argument("--name", default=None, help="the layer's name (default: the RULES given)")
    c.add_argument("--attack-version", default=ATTACK_VERSION, metavar="V",
                   help="the ATT&CK version the layer names (default: %(default)s)")
    c.add_argument("--min-level", choices=LEVELS, default=None,
                   help="only rules of this level or above (as in scan)")
    c.add_argument("--status", action="append", default=[], metavar="S",
                   help="only rules of these statuses (" + ", ".join(STATUSES) + "); !S leaves "
                        "a status out; repeatable or comma-separated (as in scan)")
    c.add_argument("--format", choices=("text", "json"), default="text",
                   help="the counts as a text table (default) or one JSON object")
    _options_args(c)
    c.set_defaults(func=cmd_coverage)


def cmd_coverage(ns) -> int:
    from sigcc.cli import _options
    from sigcc.compiler.build import load_rules
    from sigcc.coverage.layer import FilterError, collect, parse_status, rule_refs, select, to_layer

    try:
        status = parse_status(ns.status)
    except FilterError as exc:
        print(f"sigcc: {exc}", file=sys.stderr)
        return 1
    missing = [p for p in ns.rules if not Path(p).exists()]
    if missing:
        print(f"sigcc coverage: {missing[0]}: no such rule file or directory", file=sys.stderr)
        return 1
    result = load_rules(ns.rules, _options(ns))
    refs = rule_refs(result)
    if result.failed_documents:
        print(f"sigcc coverage: {result.failed_documents} rule(s) with errors are not counted "
              "('sigcc validate RULES' lists them)", file=sys.stderr)
    kept, left_out = select(refs, ns.min_level, status)
    if not kept:
        why = "the filters left none of the {} rules".format(len(refs)) if refs else \
            "no rules loaded"
        print(f"sigcc coverage: nothing to count ({why})", file=sys.stderr)
        return 1
    cov = collect(kept)
    layer = to_layer(cov, name=ns.name or "sigcc coverage: " + " ".join(ns.rules),
                     attack_version=ns.attack_version)
    text = json.dumps(layer, indent=2, ensure_ascii=False) + "\n"
    if ns.output == "-":
        sys.stdout.write(text)
        table = sys.stderr
    else:
        try:
            out = Path(ns.output)
            if out.parent != Path(""):
                out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"sigcc coverage: -o {ns.output}: cannot write: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
        table = sys.stdout
    counts = summary(cov, len(refs), left_out)
    if ns.format == "json":
        table.write(json.dumps(counts, ensure_ascii=False) + "\n")
    else:
        table.write(render(counts))
    if ns.output != "-":
        print(f"sigcc coverage: wrote {ns.output} ({len(cov.techniques)} techniques)",
              file=sys.stderr)
    return 0


def summary(cov, total: int, left_out: int) -> dict:
    """The counts `sigcc coverage` prints, as data (--format json)."""
    return {
        "rules": total,
        "left_out_by_filters": left_out,
        "counted": len(cov.rules),
        "with_techniques": len(cov.rules) - cov.without_techniques,
        "techniques": sum("." not in t for t in cov.techniques),
        "subtechniques": sum("." in t for t in cov.techniques),
        "tactics": [{"tactic": t, "rules": len(rs), "techniques": len(cov.tactic_techniques(t))}
                    for t, rs in cov.tactics.items()],
        "without_tactic": sum(not r.attack.tactics for r in cov.rules),
        "unknown_tags": dict(sorted(cov.unknown_tags.items())),
    }


def render(s: dict) -> str:
    width = max([len("(no tactic tag)")] + [len(t["tactic"]) for t in s["tactics"]])
    lines = [f"{'tactic':<{width}}  {'rules':>6}  {'techniques':>10}"]
    lines += [f"{t['tactic']:<{width}}  {t['rules']:>6}  {t['techniques']:>10}"
              for t in s["tactics"]]
    lines.append(f"{'(no tactic tag)':<{width}}  {s['without_tactic']:>6}")
    lines.append(f"{s['counted']} rules counted of {s['rules']}"
                 + (f" ({s['left_out_by_filters']} left out by the filters)"
                    if s["left_out_by_filters"] else "")
                 + f"; {s['with_techniques']} tagged with techniques: "
                   f"{_n(s['techniques'], 'technique')}, {_n(s['subtechniques'], 'sub-technique')}")
    if s["unknown_tags"]:
        shown = ", ".join(f"{t} ({n})" for t, n in list(s["unknown_tags"].items())[:10])
        lines.append(f"attack tags not understood (not counted): {shown}"
                     + (" ..." if len(s["unknown_tags"]) > 10 else ""))
    return "\n".join(lines) + "\n"


def _n(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
