"""Logsources: which events a rule applies to, as IR conditions, from one table.

`logsource_key` names the condition a rule's logsource needs; `logsource_condition` builds
it as an expression over event fields. For product windows the table in
sigcc/data/windows_logsources.yml maps services to Channels and categories to
Channel + EventID (+ extra fields); other products apply to events that are not Windows
events (no Channel field). `Options.logsource == "ignore"` makes every rule apply to every event.

A Windows logsource the table maps to no Channel/EventID (category `file_access`, an unknown
service...) is reported (`unmapped-logsource`) and, by `Options.unmapped_logsource`:
- "fields" (default): the rule applies only to Windows events that hold at least one of the
  logsource's fields: those the table lists for it under `unmapped` (the fields its provider
  writes, from SigmaHQ's tests/logsource.json), else the fields the rule's detection names
  (`detection_fields`); a detection naming no field (keywords only) leaves every Windows event;
- "all": every Windows event (what sigcc did before the option existed);
- "none": no event.

`field_aliases()` lists where the runtime gives an event a rule-side field name (Security
4688's NewProcessName as Image, when the event has no Image); `alias_sources()` is the same
table as conditions, from which the queries express it (compiler/aliases.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from sigcc.compiler import patterns
from sigcc.compiler.ir import (And, Const, Expr, Exists, FieldRef, Logsource, Match, Not, Null,
                               NumEq, Or, StrMatch)
from sigcc.compiler.patterns import number_text
from sigcc.options import Options

TABLE_FILE = Path(__file__).resolve().parent.parent / "data" / "windows_logsources.yml"

ALL = "all"
WINDOWS_ANY = "windows"
NON_WINDOWS = "other"
NOTHING = "none"
FIELDS = "windows/fields="  # + a JSON list of field names: Windows events holding one of them


@lru_cache(maxsize=1)
def windows_table() -> dict:
    with open(TABLE_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def logsource_key(ls: Logsource, options: Options,
                  detection: Iterable[Expr] = ()) -> tuple[str, str | None]:
    """The name of the logsource condition for a rule, and a warning when it is unmapped.
    `detection`: the rule's search expressions, whose fields (`detection_fields`) an unmapped
    logsource the table lists no fields for goes by (read only then)."""
    if options.logsource == "ignore":
        return ALL, None
    if (ls.product or "").lower() != "windows":
        return NON_WINDOWS, None
    table = windows_table()
    cat, svc = (ls.category or "").lower(), (ls.service or "").lower()
    if cat:
        if cat not in table["categories"]:
            return _unmapped(f"windows category {ls.category!r} has no Channel/EventID mapping",
                             ("categories", cat), options, detection)
        alts = table["categories"][cat]
        if svc and not any(a["service"] == svc for a in alts):
            return _unmapped(f"windows category {ls.category!r} has no mapping for service "
                             f"{ls.service!r}", ("categories", cat), options, detection)
        return f"windows/category={cat}" + (f"/service={svc}" if svc else ""), None
    if svc:
        if svc not in table["services"]:
            return _unmapped(f"windows service {ls.service!r} has no Channel mapping",
                             ("services", svc), options, detection)
        return f"windows/service={svc}", None
    return WINDOWS_ANY, None


def _unmapped(why: str, entry: tuple[str, str], options: Options,
              detection: Iterable[Expr]) -> tuple[str, str]:
    mode = options.unmapped_logsource
    if mode == "all":
        return WINDOWS_ANY, f"{why}; the rule applies to every Windows event (unmapped_logsource 'all')"
    if mode == "none":
        return NOTHING, f"{why}; the rule applies to no event (unmapped_logsource 'none')"
    kind, name = entry
    listed = (windows_table().get("unmapped") or {}).get(kind, {}).get(name)
    if listed:
        fields, whose = sorted(set(map(str, listed))), "the fields the logsource table lists for it"
    else:
        fields, whose = list(detection_fields(detection)), "the fields its detection names"
    if not fields:
        return WINDOWS_ANY, (f"{why}; its detection names no field, so the rule applies to "
                             "every Windows event")
    shown = ", ".join(fields[:8]) + (f" and {len(fields) - 8} more" if len(fields) > 8 else "")
    return (FIELDS + json.dumps(fields),
            f"{why}; the rule applies only to Windows events holding one of {whose}: {shown}")


def detection_fields(exprs: Iterable[Expr]) -> tuple[str, ...]:
    """Every field the expressions name (tests and fieldref targets; keywords name none)."""
    out: set[str] = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if isinstance(e, Match):
            if e.field is not None:
                out.add(e.field)
            if isinstance(e.test, FieldRef):
                out.add(e.test.other)
        elif isinstance(e, (And, Or)):
            stack.extend(e.items)
        elif isinstance(e, Not):
            stack.append(e.item)
    return tuple(sorted(out))


def _eq(field: str, value) -> Match:
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, (int, float)):
        return Match(field, NumEq(value))
    return Match(field, StrMatch(patterns.literal(str(value))))


def _any_of(field: str, values) -> Expr:
    values = values if isinstance(values, list) else [values]
    items = tuple(_eq(field, v) for v in values)
    return items[0] if len(items) == 1 else Or(items)


def _channels(service: str) -> Expr:
    return _any_of("Channel", windows_table()["services"][service])


def logsource_condition(key: str, field_names: str = "sensitive") -> Expr:
    """The condition an event must meet for rules with logsource `key` to apply; with
    field_names "insensitive" (Options.field_names) its fields are lower-cased, as the
    rules' and the events' are."""
    e = _condition(key)
    return _lower_fields(e) if field_names == "insensitive" else e


def _lower_fields(e: Expr) -> Expr:
    if isinstance(e, Match):
        return Match(e.field.lower(), e.test, e.span)
    if isinstance(e, (And, Or)):
        return type(e)(tuple(_lower_fields(x) for x in e.items))
    return e


def _condition(key: str) -> Expr:
    if key == ALL:
        return Const(True)
    if key == NOTHING:
        return Const(False)
    if key == NON_WINDOWS:
        return Match("Channel", Null())
    if key == WINDOWS_ANY:
        return Match("Channel", Exists())
    if key.startswith(FIELDS):
        held = tuple(Match(f, Exists()) for f in json.loads(key[len(FIELDS):]))
        return And((Match("Channel", Exists()), held[0] if len(held) == 1 else Or(held)))
    table = windows_table()
    fields = dict(part.split("=", 1) for part in key.split("/")[1:])
    if "category" in fields:
        alts = []
        for alt in table["categories"][fields["category"]]:
            if "service" in fields and alt["service"] != fields["service"]:
                continue
            conds = [_channels(alt["service"])]
            for f, v in alt.items():
                if f not in ("service", "aliases"):
                    conds.append(_any_of(f, v))
            alts.append(And(tuple(conds)))
        return alts[0] if len(alts) == 1 else Or(tuple(alts))
    return _channels(fields["service"])


def field_aliases() -> dict[tuple[str, int], dict[str, str]]:
    """(Channel, EventID) -> {rule field name: event field name} for events that need them.

    The runtime reads the key as the logsource conditions do (Channel lower-cased, EventID as
    its text): an event whose Channel and EventID meet `alias_key_condition` of a key gets
    each rule field it lacks (absent or null) from the event field, when that one is there."""
    out: dict[tuple[str, int], dict[str, str]] = {}
    table = windows_table()
    for alts in table["categories"].values():
        for alt in alts:
            if "aliases" not in alt:
                continue
            eids = alt.get("EventID")
            for channel in table["services"][alt["service"]]:
                for eid in eids if isinstance(eids, list) else [eids]:
                    out.setdefault((channel, int(eid)), {}).update(alt["aliases"])
    return out


def alias_key_condition(channel: str, event_id: int) -> Expr:
    """The condition an event's (Channel, EventID) meets for the aliases of that key: the
    same tests as the logsource conditions (`Channel` case-insensitive, `EventID` as text)."""
    return And((_eq("Channel", channel), _eq("EventID", event_id)))


@dataclass(frozen=True)
class AliasSource:
    """Where the runtime takes a rule field from when an event lacks it: `event_field`, for
    events of the `keys` (Channel, EventID) pairs, which meet `condition`."""

    event_field: str
    keys: tuple[tuple[str, int], ...]
    condition: Expr


@lru_cache(maxsize=2)
def alias_sources(field_names: str = "sensitive") -> dict[str, tuple[AliasSource, ...]]:
    """Rule field -> its AliasSources (one per event field; keys of one event field share
    one condition), from `field_aliases()`; with field_names "insensitive" (Options) every
    name is lower-cased, as the rules' and the events' are."""
    by_field: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for key, names in sorted(field_aliases().items()):
        for rule_field, event_field in names.items():
            by_field.setdefault(rule_field, {}).setdefault(event_field, []).append(key)
    out: dict[str, tuple[AliasSource, ...]] = {}
    for rule_field, sources in sorted(by_field.items()):
        built = []
        for event_field, keys in sorted(sources.items()):
            conds = tuple(alias_key_condition(ch, eid) for ch, eid in keys)
            cond = conds[0] if len(conds) == 1 else Or(conds)
            if field_names == "insensitive":
                event_field, cond = event_field.lower(), _lower_fields(cond)
            built.append(AliasSource(event_field, tuple(keys), cond))
        out[rule_field.lower() if field_names == "insensitive" else rule_field] = tuple(built)
    return out


def alias_text_keys() -> dict[tuple[str, str], dict[str, str]]:
    """`field_aliases()` keyed as the runtime reads an event: (Channel lower-cased, EventID
    text as the generated code compares it — `number_text`)."""
    return {(channel.lower(), number_text(eid)): names
            for (channel, eid), names in field_aliases().items()}
