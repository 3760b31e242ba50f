"""Tables for the benchmarks: figures with targets (PASS/MISS), sections as text or Markdown,
medians with their spread. No sigcc import: bench/commands.py stays a small process, so the
peak RSS its children report (inherited through fork/exec) is theirs, not its own."""
from __future__ import annotations

import re
import statistics
import sys
from dataclasses import asdict, dataclass, field


@dataclass
class Check:
    """One figure with a target: value op target -> PASS or MISS."""
    name: str
    value: float
    op: str          # "<=" or ">="
    target: float
    unit: str = ""   # "x", " events/s", " MB", " s", "%"
    goal: bool = False  # a goal beyond the target: shown, never counted as a miss

    @property
    def ok(self) -> bool:
        return self.value <= self.target if self.op == "<=" else self.value >= self.target

    def row(self) -> tuple:
        verdict = ("met" if self.ok else "not yet") if self.goal else ("PASS" if self.ok else "MISS")
        return (self.name, fmt(self.value, self.unit), f"{self.op} {fmt(self.target, self.unit)}",
                verdict)


def fmt(value: float, unit: str = "") -> str:
    if unit == "x":   # two decimals below 10x, so a near miss never reads like the target
        return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"
    if unit == " s":
        return f"{value:.2f} s"
    if unit == "%":
        return f"{value:.1f}%"
    if value >= 100 or unit == " MB":
        return f"{value:,.0f}{unit}"
    return f"{value:.2f}{unit}"


@dataclass
class Section:
    title: str
    header: tuple
    rows: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def text(self) -> str:
        out = [f"== {self.title} =="]
        out += _aligned([self.header] + [tuple(map(str, r)) for r in self.rows])
        if self.checks:
            out.append("")
            out += _aligned([("target", "value", "goal", "")] + [c.row() for c in self.checks])
        out += [f"  {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def markdown(self) -> str:
        out = [f"### {self.title}", ""]
        out += _md_table(self.header, self.rows)
        if self.checks:
            out += [""] + _md_table(("target", "value", "goal", ""), [c.row() for c in self.checks])
        if self.notes:
            out += [""] + [f"  - {n[2:]}" if n.startswith("  ") else f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Section":
        return cls(d["title"], tuple(d["header"]), [tuple(r) for r in d["rows"]],
                   [Check(**c) for c in d["checks"]], list(d["notes"]))


def _numeric(cell: str) -> bool:
    return re.fullmatch(r"-?[\d,]+(\.\d+)?(x|%)?", cell) is not None


def _right(rows: list) -> list[bool]:
    """Columns of numbers are right-aligned."""
    return [bool(rows) and all(_numeric(str(r[i])) or str(r[i]) in ("", "-") for r in rows)
            for i in range(len(rows[0]))] if rows else []


def _aligned(rows: list) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    right = _right(rows[1:]) or [False] * len(widths)
    lines = []
    for r in rows:
        cells = [str(c).rjust(w) if rj else str(c).ljust(w) for c, w, rj in zip(r, widths, right)]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _md_table(header: tuple, rows: list) -> list[str]:
    right = _right(rows) or [False] * len(header)
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def progress(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --- repeated figures ----------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], unit: str = "", digits: int = 2) -> str:
    """'min–max' of repeated figures ('-' for one run): the noise a reader should allow for."""
    if len(values) < 2:
        return "-"
    lo, hi = min(values), max(values)
    if unit == "rate":
        return f"{lo:,.0f}–{hi:,.0f}"
    if unit == "x":
        return f"{lo:.2f}–{hi:.2f}x"
    if unit == "%":
        return f"{lo:.1f}–{hi:.1f}%"
    return f"{lo:.{digits}f}–{hi:.{digits}f}"


def relative_spread(values: list[float]) -> float:
    """(max - min) / median, the noise of one figure over its runs (0 for one run)."""
    return (max(values) - min(values)) / median(values) if len(values) > 1 and median(values) else 0.0
