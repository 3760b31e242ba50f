"""Checks of tags (the specification's namespaces: attack, car, cve, detection, tlp, stp)
and of `related` entries."""
from __future__ import annotations

import re

import yaml

from sigcc.lint.checks_meta import UUID
from sigcc.lint.registry import check
from sigcc.lint.source import DocContext

NAMESPACES = ("attack", "car", "cve", "detection", "tlp", "stp")
# ATT&CK tactics by their short names (Enterprise, including v18's stealth and
# defense-impairment, plus Mobile and ICS)
TACTICS = frozenset((
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "stealth", "defense-impairment",
    "credential-access", "discovery", "lateral-movement", "collection", "command-and-control",
    "exfiltration", "impact", "evasion", "inhibit-response-function", "impair-process-control",
))
ATTACK_ID = re.compile(r"^(t\d{4}(\.\d{3})?|[gsmc]\d{4}|ds\d{4})$")
CVE = re.compile(r"^\d{4}-\d{4,}$")
CAR = re.compile(r"^\d{4}-\d{2}-\d{3}$")
TLP = frozenset(("clear", "white", "green", "amber", "amber-strict", "red"))
DETECTION = frozenset(("dfir", "emerging-threats", "threat-hunting"))
STP = re.compile(r"^[1-5][auk]$")
TAG = re.compile(r"^[a-z0-9_-]+\.[a-z0-9._-]+$")
RELATED_TYPES = ("derived", "obsolete", "merged", "renamed", "similar")


def _tags(ctx: DocContext):
    """(index, tag text, node or None) for each string tag."""
    tags = ctx.data.get("tags")
    if not isinstance(tags, list):
        return
    node = ctx.value_node("tags")
    nodes = node.value if isinstance(node, yaml.SequenceNode) else []
    for i, tag in enumerate(tags):
        if tag is None:
            continue
        yield i, str(tag), (nodes[i] if i < len(nodes) else None)


def _where(ctx, node):
    return node or ctx.at_key("tags")


@check("SL201", "tag-format", "error", "a tag that is not 'namespace.name' in lowercase",
       fixable=True)
def tag_format(ctx: DocContext):
    for _, tag, node in _tags(ctx):
        if TAG.match(tag):
            continue
        low = tag.strip().lower().replace(" ", "-")
        fix = (ctx.replace_scalar(node, low, "write the tag in lowercase")
               if low != tag and TAG.match(low) else None)
        ctx.report("SL201", f"tag {tag!r} is not 'namespace.name' (lowercase letters, digits, "
                            "'.', '-', '_')", _where(ctx, node),
                   "write e.g. attack.execution or attack.t1059.001", fix)


@check("SL202", "tag-namespace-unknown", "warning", "a tag in a namespace the spec does not define")
def tag_namespace(ctx: DocContext):
    for _, tag, node in _tags(ctx):
        if TAG.match(tag) and tag.split(".", 1)[0] not in NAMESPACES:
            ctx.report("SL202", f"tag {tag!r} is in namespace {tag.split('.', 1)[0]!r}, "
                                "which the specification does not define", _where(ctx, node),
                       f"namespaces: {', '.join(NAMESPACES)}")


def _namespace(ctx: DocContext, ns: str, check_id: str, ok, expected: str):
    for _, tag, node in _tags(ctx):
        if TAG.match(tag) and tag.split(".", 1)[0] == ns and not ok(tag.split(".", 1)[1]):
            ctx.report(check_id, f"tag {tag!r} is not a valid {ns} tag", _where(ctx, node),
                       f"{ns} tags are {expected}")


@check("SL203", "tag-attack-invalid", "error", "an attack.* tag that is no technique, group, "
                                                "software or tactic")
def tag_attack(ctx: DocContext):
    _namespace(ctx, "attack", "SL203", lambda n: bool(ATTACK_ID.match(n)) or n in TACTICS,
               "attack.t1059, attack.t1059.001, attack.g0016, attack.s0002 or a tactic such as "
               "attack.execution")


@check("SL204", "tag-cve-invalid", "error", "a cve.* tag that is not cve.YYYY-NNNN")
def tag_cve(ctx: DocContext):
    _namespace(ctx, "cve", "SL204", lambda n: bool(CVE.match(n)), "cve.YYYY-NNNN, e.g. cve.2021-44228")


@check("SL205", "tag-car-invalid", "error", "a car.* tag that is not car.YYYY-MM-NNN")
def tag_car(ctx: DocContext):
    _namespace(ctx, "car", "SL205", lambda n: bool(CAR.match(n)), "car.YYYY-MM-NNN, e.g. car.2016-04-005")


@check("SL206", "tag-tlp-invalid", "error", "a tlp.* tag that is no TLP colour")
def tag_tlp(ctx: DocContext):
    _namespace(ctx, "tlp", "SL206", lambda n: n in TLP, ", ".join(f"tlp.{x}" for x in sorted(TLP)))


@check("SL207", "tag-detection-invalid", "error", "a detection.* tag the spec does not define")
def tag_detection(ctx: DocContext):
    _namespace(ctx, "detection", "SL207", lambda n: n in DETECTION,
               ", ".join(f"detection.{x}" for x in sorted(DETECTION)))


@check("SL213", "tag-stp-invalid", "error", "an stp.* tag that is not a Summiting-the-Pyramid score")
def tag_stp(ctx: DocContext):
    _namespace(ctx, "stp", "SL213", lambda n: bool(STP.match(n)),
               "stp.<level 1-5><a|u|k>, e.g. stp.1u")


@check("SL208", "tag-duplicate", "warning", "a tag given twice", fixable=True)
def tag_duplicate(ctx: DocContext):
    seen: set[str] = set()
    for _, tag, node in _tags(ctx):
        if tag.lower() in seen:
            ctx.report("SL208", f"tag {tag!r} is given twice", _where(ctx, node),
                       "remove the second one", ctx.delete_item(node, f"remove duplicate tag {tag}"))
        seen.add(tag.lower())


def _related(ctx: DocContext):
    rel = ctx.data.get("related")
    node = ctx.value_node("related")
    nodes = node.value if isinstance(node, yaml.SequenceNode) else []
    if isinstance(rel, list):
        for i, entry in enumerate(rel):
            yield i, entry, (nodes[i] if i < len(nodes) else ctx.at_key("related"))


@check("SL209", "related-invalid", "error", "related is not a list of {id, type} mappings")
def related_shape(ctx: DocContext):
    rel = ctx.data.get("related")
    if rel is None:
        return
    if not isinstance(rel, list):
        ctx.report("SL209", "related must be a list", ctx.at_key("related"),
                   "write '- id: <uuid>' and 'type: <derived|...>' entries")
        return
    for _, entry, where in _related(ctx):
        missing = [k for k in ("id", "type") if not isinstance(entry, dict) or k not in entry]
        if missing:
            ctx.report("SL209", f"related entry lacks {' and '.join(missing)}", where,
                       "each entry needs 'id: <uuid>' and 'type: <derived|...>'")


@check("SL210", "related-type-invalid", "error", "a related type the spec does not define")
def related_type(ctx: DocContext):
    for _, entry, where in _related(ctx):
        if isinstance(entry, dict) and "type" in entry and entry["type"] not in RELATED_TYPES:
            ctx.report("SL210", f"related type {entry['type']!r} is not one of "
                                f"{', '.join(RELATED_TYPES)}", where,
                       "derived: based on; obsolete: replaces; merged: several into this; "
                       "renamed: new id; similar: detects the same differently")


@check("SL211", "related-id-not-uuid", "error", "a related id that is not a lowercase UUID")
def related_id(ctx: DocContext):
    for _, entry, where in _related(ctx):
        if isinstance(entry, dict) and "id" in entry and not (
                isinstance(entry["id"], str) and UUID.match(entry["id"])):
            ctx.report("SL211", f"related id {entry['id']!r} is not a lowercase UUID", where,
                       "related ids name other rules by their id")


@check("SL212", "related-self", "warning", "a rule related to itself")
def related_self(ctx: DocContext):
    for _, entry, where in _related(ctx):
        if isinstance(entry, dict) and ctx.rule_id and entry.get("id") == ctx.rule_id:
            ctx.report("SL212", "related names the rule's own id", where,
                       "related ids name other rules")
