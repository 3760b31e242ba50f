"""An Explanation as an indented tree of text lines (plain, or rich Text on a terminal).

    for line in lines(explanation): ...       # [(text, style), ...] per line
    write_text(explanation, stream, color=False)

Rule text and event values are data: every piece is escaped for display (unprintable
characters as \\uXXXX, values as JSON) and handed to rich only as `Text` segments, never as
markup, so a title like `[/dim]` or `</script>` prints as written.
"""
from __future__ import annotations

from sigcc.explain.explainer import Explanation, RuleExplanation
from sigcc.explain.trace import Node

__all__ = ["lines", "write_text"]

Segment = tuple[str, str]  # (text, rich style name; "" for none)

YES, NO = "✓", "✗"


def _clean(text) -> str:
    """Rule or event text on one line: unprintable characters escaped."""
    s = "" if text is None else str(text)
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in s)


def _mark(held: bool | None, marks=(YES, NO)) -> Segment:
    if held is None:
        return ("?", "yellow")
    return (marks[0], "green") if held else (marks[1], "red")


def _seen(node: Node) -> list[Segment]:
    if node.values:
        more = f" (+{node.more_values} more)" if node.more_values else ""
        return [(" — seen ", "dim"), (", ".join(node.values) + more, "magenta")]
    return [(f" — {node.state or 'absent'}", "yellow")]


def _one_field(node: Node) -> bool:
    """A connective whose parts all test one field: its values are shown once, on it."""
    kids = node.children
    return (len(kids) > 1 and all(k.kind == "test" and k.field is not None for k in kids)
            and len({(k.field, k.values, k.state) for k in kids}) == 1)


def _node_lines(node: Node, depth: int, marks, seen: bool = True) -> list[list[Segment]]:
    pad = ("  " * depth, "")
    if node.kind == "test":
        where = f"line {node.line}" if node.line else ""
        if node.field is None:
            head = [pad, _mark(node.held, marks), (" keyword ", "bold"), (_clean(node.test), "")]
            seen = ([(" — matched in ", "dim"), (", ".join(_clean(f) for f in node.matched_in), "cyan")]
                    if node.held else [(" — no field's value matched", "dim")])
        else:
            head = [pad, _mark(node.held, marks), (" ", ""), (_clean(node.field), "cyan"), (" ", ""),
                    (_clean(node.test), "")]
            seen = _seen(node) if seen else []
        tail = [(f"  ({where})", "dim")] if where else []
        return [head + seen + tail]
    if node.kind == "ref":
        return [[pad, _mark(node.held, marks), (" ", ""), (_clean(node.name), "bold")]]
    if node.kind == "const":
        return [[pad, _mark(node.held, marks), (" always " + ("true" if node.held else "false"), "")]]
    head = [pad, _mark(node.held, marks), (" " + node.kind, "bold")]
    shared = _one_field(node)
    if shared:
        first = node.children[0]
        head += [(" — ", "dim"), (_clean(first.field), "cyan")]
        head += ([(" seen ", "dim"), _seen(first)[1]] if first.values
                 else [(f" {first.state or 'absent'}", "yellow")])
    out = [head]
    for child in node.children:
        out += _node_lines(child, depth + 1, marks, seen=not shared)
    return out


def _rule_lines(r: RuleExplanation, marks) -> list[list[Segment]]:
    if r.error is not None:
        verdict, style = "CANNOT EXPLAIN", "yellow"
    elif r.fired:
        verdict, style = "FIRED", "bold green"
    elif not r.applies:
        verdict, style = "LOGSOURCE DOES NOT APPLY", "yellow"
    else:
        verdict, style = "did not fire", "red"
    out = [[(verdict, style), ("  ", ""), (_clean(r.title), "bold"),
            (f"  [{_clean(r.level or 'no level')}]", ""),
            (f"  {_clean(r.rule_id)}  {_clean(r.file)}:{r.line}", "dim")]]
    if not r.agrees:
        out.append([("  WARNING: the matcher ", "bold red"),
                    ("reported" if r.matcher else "did not report", "bold red"),
                    (" this rule for this event; this explanation may not describe the rule "
                     "the matcher runs (was the module built with other --placeholder or "
                     "keyword options, or the rule file changed since?)", "red")])
    if r.error is not None:
        out.append([("  ", ""), (_clean(r.error), "yellow")])
        return out
    if r.logsource is not None:
        out.append([("  logsource: ", "bold"), _mark(r.logsource.held, marks),
                    (" applies" if r.logsource.held else " does not apply", "")])
        out += _node_lines(r.logsource, 2, marks)
    if r.verdict is not None:
        out.append([("  condition: ", "bold"), (_clean(r.condition), ""), (" → ", "dim"),
                    _mark(r.verdict.held, marks)])
        out += _node_lines(r.verdict, 2, marks)
    for s in r.searches:
        out.append([("  search ", "bold"), (_clean(s.name), "bold"),
                    (f" (line {s.line})" if s.line else "", "dim"), (": ", ""),
                    _mark(s.held, marks), (" held" if s.held else " did not hold", "")])
        out += _node_lines(s.node, 2, marks)
    return out


def lines(e: Explanation, marks=(YES, NO)) -> list[list[Segment]]:
    """The explanation's lines: a header, then one tree per rule, fired rules first."""
    applicable = sum(1 for r in e.rules if r.applies)
    out = [[("event ", "bold"), (_clean(e.source or "(given)"), "cyan")],
           [(f"{e.rules_total} rules; {applicable} apply to this event's logsource "
             f"({e.not_applicable} do not); {len(e.fired)} fired", "")]]
    for p in e.problems:
        out.append([("problem: ", "bold red"), (_clean(p), "red")])
    ordered = sorted(e.rules, key=lambda r: (not r.fired, r.error is not None))
    for r in ordered:
        out.append([])
        out += _rule_lines(r, marks)
    return out


def write_text(e: Explanation, stream, *, color: bool = False) -> None:
    """Write the tree to `stream`: rich Text with colours when `color`, else plain text
    (ASCII marks when the stream cannot encode ✓/✗)."""
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower()
    marks = (YES, NO) if "utf" in encoding else ("+", "-")
    rows = lines(e, marks)
    if color:
        from rich.console import Console
        from rich.text import Text

        console = Console(file=stream, highlight=False, markup=False, emoji=False,
                          soft_wrap=True, force_terminal=True)
        for row in rows:
            t = Text()
            for text, style in row:
                t.append(text, style=style or None)
            console.print(t)
        return
    for row in rows:
        line = "".join(text for text, _ in row)
        if "utf" not in encoding:
            line = line.replace("—", "-").replace("→", "->").replace("…", "...")
            line = line.encode(encoding, "backslashreplace").decode(encoding)
        stream.write(line + "\n")
