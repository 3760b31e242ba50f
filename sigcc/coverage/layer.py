"""Rule coverage of ATT&CK, and the Navigator layer (format 4.5) that shows it.

    refs = rule_refs(load_rules(["rules/"]))            # rules and correlation rules
    kept, left_out = select(refs, min_level="medium", status=("stable", "test"))
    cov = collect(kept)
    layer = to_layer(cov, name="SigmaHQ rules")        # a dict; json.dumps it

A rule counts once for each distinct technique it is tagged with (`attack.t1059.001` ->
`T1059.001`; a sub-technique is its own entry, its parent is not counted for it). The score
of a technique is the sum of its rules' level weights (LEVEL_WEIGHTS: informational 1, low 2,
medium 3, high 4, critical 5; a rule without a level weighs 1), so ten informational rules
score as much as two critical ones. The comment lists the rules' titles (with level and id),
heaviest first. Per tactic (`attack.<tactic>` tags) the rules tagged with it and the distinct
techniques those rules carry are counted. Technique entries carry no `tactic` field: the
Navigator then shows a technique under every tactic it belongs to.

Filters are scan's: `min_level` keeps rules of that level or above (a rule without a level is
below every level); `status` entries keep those statuses, `!NAME` leaves one out, `none`
stands for a rule without status.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sigcc.coverage.attack import AttackTags, read_tags, tactic_order

__all__ = ["LEVEL_WEIGHTS", "NO_LEVEL_WEIGHT", "LEVELS", "STATUSES", "LAYER_VERSION",
           "NAVIGATOR_VERSION", "ATTACK_VERSION", "RuleRef", "Coverage", "rule_refs", "select",
           "collect", "to_layer", "weight", "FilterError", "parse_status"]

LEVELS = ("informational", "low", "medium", "high", "critical")
LEVEL_WEIGHTS = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
NO_LEVEL_WEIGHT = 1
STATUSES = ("stable", "test", "experimental", "deprecated", "unsupported", "none")
LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
ATTACK_VERSION = "18"
GRADIENT = ["#ffffff", "#66b1ff", "#0b3d91"]  # score 0 -> max


class FilterError(ValueError):
    """A --status or --min-level value that is not a Sigma status or level."""


@dataclass(frozen=True, slots=True)
class RuleRef:
    id: str
    title: str
    level: str | None  # lower-cased
    status: str | None
    attack: AttackTags
    file: str
    line: int


def weight(level: str | None) -> int:
    return LEVEL_WEIGHTS.get(level or "", NO_LEVEL_WEIGHT)


@dataclass
class Coverage:
    rules: list[RuleRef]
    techniques: dict[str, list[RuleRef]] = field(default_factory=dict)  # sorted by id
    tactics: dict[str, list[RuleRef]] = field(default_factory=dict)  # in matrix order
    unknown_tags: Counter = field(default_factory=Counter)  # tag as written -> rules
    without_techniques: int = 0  # rules counted that carry no technique tag

    def score(self, technique: str) -> int:
        return sum(weight(r.level) for r in self.techniques[technique])

    def tactic_techniques(self, tactic: str) -> set[str]:
        return {t for r in self.tactics[tactic] for t in r.attack.techniques}


def _lower(v) -> str | None:
    return v.strip().lower() if isinstance(v, str) and v.strip() else None


def rule_refs(result) -> list[RuleRef]:
    """The rules and correlation rules of a CompileResult (sigcc.compiler.build.load_rules),
    in file order. Rules with errors are not in it: they are not counted."""
    out = [RuleRef(m.id, m.title, _lower(m.level), _lower(m.status), read_tags(m.tags),
                   m.file, m.line) for m in (r.meta for r in result.rules)]
    for c in result.correlations:
        out.append(RuleRef(c.id, c.title, _lower(c.level), _lower(c.status), read_tags(c.tags),
                           c.span.file, c.span.line))
    return out


def parse_status(values) -> tuple[str, ...]:
    """--status as given (repeatable, comma-separated), checked."""
    out = tuple(s.strip().lower() for v in values for s in str(v).split(",") if s.strip())
    for s in out:
        if s.lstrip("!") not in STATUSES:
            raise FilterError(f"--status {s!r}: not a Sigma status; use one of "
                              f"{', '.join(STATUSES)} (prefix ! to leave one out)")
    return out


def _kept(r: RuleRef, min_level: str | None, status: tuple[str, ...]) -> bool:
    if min_level is not None:
        rank = {name: i for i, name in enumerate(LEVELS)}
        if rank.get(r.level or "", -1) < rank[min_level]:
            return False
    if status:
        st = r.status or "none"
        if "!" + st in status:
            return False
        wanted = [s for s in status if not s.startswith("!")]
        if wanted and st not in wanted:
            return False
    return True


def select(refs: list[RuleRef], min_level: str | None = None,
           status: tuple[str, ...] = ()) -> tuple[list[RuleRef], int]:
    """(the rules kept, how many were left out)."""
    if min_level is not None and min_level not in LEVELS:
        raise FilterError(f"--min-level {min_level!r}: use one of {', '.join(LEVELS)}")
    kept = [r for r in refs if _kept(r, min_level, status)]
    return kept, len(refs) - len(kept)


def collect(rules: list[RuleRef]) -> Coverage:
    cov = Coverage(list(rules))
    techniques: dict[str, list[RuleRef]] = {}
    tactics: dict[str, list[RuleRef]] = {}
    for r in rules:
        for t in r.attack.techniques:
            techniques.setdefault(t, []).append(r)
        for t in r.attack.tactics:
            tactics.setdefault(t, []).append(r)
        for tag in r.attack.unknown:
            cov.unknown_tags[tag] += 1
        cov.without_techniques += not r.attack.techniques
    cov.techniques = {t: techniques[t] for t in sorted(techniques, key=_technique_key)}
    cov.tactics = {t: tactics[t] for t in sorted(tactics, key=tactic_order)}
    return cov


def _technique_key(t: str) -> tuple[int, int]:
    base, _, sub = t[1:].partition(".")
    return int(base), int(sub or 0)


def _comment(rules: list[RuleRef]) -> str:
    ordered = sorted(rules, key=lambda r: (-weight(r.level), r.title.lower(), r.id))
    return "\n".join(f"{r.title} ({r.level or 'no level'}, {r.id})" for r in ordered)


def _metadata(rules: list[RuleRef]) -> list[dict]:
    by_level = Counter(r.level or "no level" for r in rules)
    out = [{"name": "rules", "value": str(len(rules))}]
    out += [{"name": level, "value": str(by_level[level])}
            for level in (*reversed(LEVELS), "no level") if by_level[level]]
    return out


def to_layer(cov: Coverage, name: str = "sigcc coverage", description: str | None = None,
             attack_version: str = ATTACK_VERSION) -> dict:
    """An ATT&CK Navigator layer (format 4.5) of the coverage."""
    techniques = []
    for t, rules in cov.techniques.items():
        techniques.append({
            "techniqueID": t,
            "score": cov.score(t),
            "color": "",
            "comment": _comment(rules),
            "enabled": True,
            "metadata": _metadata(rules),
            "links": [],
            "showSubtechniques": False,
        })
    top = max((e["score"] for e in techniques), default=0)
    high = max(top, 1)
    weights = ", ".join(f"{lv} {w}" for lv, w in LEVEL_WEIGHTS.items())
    return {
        "name": name,
        "versions": {"attack": str(attack_version), "navigator": NAVIGATOR_VERSION,
                     "layer": LAYER_VERSION},
        "domain": "enterprise-attack",
        "description": description if description is not None else (
            f"{len(cov.rules)} Sigma rules, {len(cov.techniques)} techniques; score = rules "
            f"weighted by level ({weights}; no level {NO_LEVEL_WEIGHT}). Written by sigcc "
            "coverage."),
        "sorting": 3,  # by score, highest first
        "layout": {"layout": "side", "aggregateFunction": "max", "showID": True,
                   "showName": True, "showAggregateScores": False, "countUnscored": False,
                   "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": list(GRADIENT), "minValue": 0, "maxValue": high},
        "legendItems": [  # the gradient's three stops, evenly spaced from 0 to the top score
            {"label": "score 0", "color": GRADIENT[0]},
            {"label": f"score {high / 2:g}", "color": GRADIENT[1]},
            {"label": f"score {high}", "color": GRADIENT[2]},
        ],
        "metadata": [{"name": "rules", "value": str(len(cov.rules))},
                     {"name": "techniques", "value": str(len(cov.techniques))}],
        "links": [],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }

