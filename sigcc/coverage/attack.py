"""ATT&CK tags of Sigma rules: techniques, tactics and the other `attack.` namespaces.

    read_tags(["attack.execution", "attack.t1059.001", "attack.g0016"])
    -> AttackTags(techniques=("T1059.001",), tactics=("execution",), other=(), unknown=())

Sigma writes ATT&CK in tags (the spec's tag namespaces): `attack.tNNNN` / `attack.tNNNN.NNN`
for (sub-)techniques, `attack.<tactic short name>` for tactics, `attack.gNNNN` groups,
`attack.sNNNN` software, `attack.mNNNN` mitigations, `attack.cNNNN` campaigns, `attack.dsNNNN`
data sources, `attack.taNNNN` tactics by id. Case is ignored; `_` in a tactic name reads as
`-` (older rules wrote `attack.defense_evasion`). Technique ids come out as ATT&CK writes
them (`T1059.001`), tactics as short names (`privilege-escalation`; a tactic tag by id as its
id, `TA0002`). An `attack.` tag that is none of these (`attack.t1059.1`, `attack.foo`) is
`unknown`: reported by `sigcc coverage`, never counted.

Tactic names: the enterprise tactics of ATT&CK v18 (which replaced Defense Evasion with
Stealth and Defense Impairment) and, for rules written earlier, `defense-evasion`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["AttackTags", "TACTICS", "read_tags", "tactic_order"]

# the enterprise tactics in the order the ATT&CK matrix shows them
TACTICS = ("reconnaissance", "resource-development", "initial-access", "execution",
           "persistence", "privilege-escalation", "stealth", "defense-impairment",
           "defense-evasion", "credential-access", "discovery", "lateral-movement",
           "collection", "command-and-control", "exfiltration", "impact")

_TECHNIQUE = re.compile(r"t(\d{4})(?:\.(\d{3}))?")
_TACTIC_ID = re.compile(r"ta\d{4}")
_OTHER = re.compile(r"(?:g|s|m|c|ds|dc|an)\d{4}")  # groups, software, mitigations, campaigns, ...


@dataclass(frozen=True, slots=True)
class AttackTags:
    techniques: tuple[str, ...]  # each once, in the order first written
    tactics: tuple[str, ...]
    other: tuple[str, ...]  # groups, software, ... (known namespaces that are not counted)
    unknown: tuple[str, ...]  # attack.* tags that are none of the above, as written


def read_tags(tags) -> AttackTags:
    techniques: dict[str, None] = {}
    tactics: dict[str, None] = {}
    other: dict[str, None] = {}
    unknown: dict[str, None] = {}
    for tag in tags:
        if not isinstance(tag, str) or not tag[:7].lower() == "attack.":
            continue
        name = tag[7:].strip().lower()
        m = _TECHNIQUE.fullmatch(name)
        if m:
            techniques["T" + m.group(1) + (f".{m.group(2)}" if m.group(2) else "")] = None
        elif _TACTIC_ID.fullmatch(name):
            tactics[name.upper()] = None
        elif name.replace("_", "-") in TACTICS:
            tactics[name.replace("_", "-")] = None
        elif _OTHER.fullmatch(name):
            other[name.upper()] = None
        else:
            unknown[tag] = None
    return AttackTags(tuple(techniques), tuple(tactics), tuple(other), tuple(unknown))


def tactic_order(name: str) -> tuple[int, str]:
    """Sort key: the matrix's order, then tactics by id."""
    return (TACTICS.index(name), "") if name in TACTICS else (len(TACTICS), name)
