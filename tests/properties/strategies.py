"""Hypothesis strategies: random Sigma rules (as YAML-able dicts) and events that may match them.

Everything is drawn from small pools (a handful of fields, identifiers and characters) so that
values collide: the alphabet holds both cases of a letter, wildcards, backslashes, quotes,
spaces, dashes and a newline. Events come in two kinds: random ones over the same fields and
alphabet, and ones *derived* from a rule's values (wildcards filled in, case flipped, dashes
swapped, base64 at an offset, numbers as text, ...), which are likely to match.
"""
from __future__ import annotations

import base64

from hypothesis import strategies as st

from sigcc import Options
from sigcc.compiler import patterns
from sigcc.compiler.ir import Wild
from sigcc.compiler.modifiers import WINDASH_CHARS

FIELDS = ("Image", "CommandLine", "User", "Num")
EVENT_FIELDS = FIELDS + ("image", "USER")  # collide with FIELDS when field names are insensitive
ALPHABET = "aAbB*?\\\"' -/1.\u00e9\n"
PLAIN_ALPHABET = "aAbB\\\"' -/1.\u00e9\n"  # no wildcards: base64offset needs plain values
FILL_ALPHABET = "aAbB\"' -/1.\u00e9\n"  # what wildcards stand for in derived events
NAMES = ("sel", "sel_a", "sel-1", "s0", "s1", "order", "1x", "_hidden", "kw", "filter.x")
NUMBERS = (0, 1, -1, 5, 4688, 1.5, 2.0)
NETWORKS = ("10.0.0.0/8", "192.168.1.0/24", "::1/128", "fe80::/10")
ADDRESSES = ("10.1.2.3", "100.1.2.3", "192.168.1.7", "192.168.2.7", "::1", "fe80::1", "[::1]",
             "10.0.0.1 ", "not an ip")
LOGSOURCES = ({"product": "windows", "category": "process_creation"},
              {"product": "windows", "service": "security"}, {"product": "linux"})
CHANNELS = ("Security", "Microsoft-Windows-Sysmon/Operational", "System")
# The property runs mostly with logsource gating off (flat events); the other rows vary one
# option each, logsource gating included (events then get a Channel and EventID).
OPTIONS = (Options(logsource="ignore"), Options(logsource="ignore"),
           Options(logsource="ignore", collapse_whitespace=True),
           Options(logsource="ignore", field_names="insensitive"),
           Options(logsource="ignore", keyword_contains=False),
           Options())
REGEX_PIECES = ("a", "A", "b", ".", "^", "$", "a*", "[ab]", r"\d", "(a|B)", r"\\", r"\*", r"\?",
                " ", '"', "-", "\u00e9", r"\n", "1")

texts = st.text(ALPHABET, max_size=6)
plain_texts = st.text(PLAIN_ALPHABET, max_size=5)
fill_texts = st.text(FILL_ALPHABET, max_size=2)
numbers = st.sampled_from(NUMBERS)
regexes = st.lists(st.sampled_from(REGEX_PIECES), min_size=1, max_size=4).map("".join)


# --- rules --------------------------------------------------------------------------------

def _values(draw, single, allow_list=True):
    """One value, or a list of 1-3 of them."""
    if allow_list and draw(st.booleans()):
        return draw(st.lists(single, min_size=1, max_size=3))
    return draw(single)


@st.composite
def string_item(draw, field: str):
    """`field|windash|base64offset|contains|cased|all: values` with any subset of the modifiers."""
    mods = []
    windash = draw(st.booleans())
    b64 = draw(st.integers(0, 4)) == 0
    if windash:
        mods.append("windash")
    if b64:
        mods.append("base64offset")
    wrapper = draw(st.sampled_from(["", "", "contains", "startswith", "endswith"]))
    if wrapper:
        mods.append(wrapper)
    single = plain_texts if b64 else st.one_of(texts, texts, st.sampled_from([5, 4688, 1.5]))
    value = _values(draw, single)
    flags = []
    if draw(st.booleans()):
        flags.append("cased")
    if isinstance(value, list) and draw(st.booleans()):
        flags.append("all")
    for flag in flags:  # flags may stand anywhere in the chain
        mods.insert(draw(st.integers(0, len(mods))), flag)
    return "|".join([field, *mods]), value


@st.composite
def regex_item(draw, field: str):
    flags = draw(st.lists(st.sampled_from(["i", "ignorecase", "m", "s", "dotall"]), max_size=2,
                          unique_by=lambda f: f[0]))
    value = _values(draw, regexes)
    mods = ["re", *flags]
    if isinstance(value, list) and draw(st.booleans()):
        mods.append("all")
    return "|".join([field, *mods]), value


@st.composite
def field_item(draw, field: str):
    """One `field|modifiers: value` pair of a search map."""
    kind = draw(st.sampled_from(["str", "str", "str", "re", "num", "bool", "null", "exists",
                                 "cmp", "cidr", "fieldref", "neq"]))
    if kind == "str":
        return draw(string_item(field))
    if kind == "re":
        return draw(regex_item(field))
    if kind == "num":
        value = _values(draw, numbers)
        return field + ("|all" if isinstance(value, list) and draw(st.booleans()) else ""), value
    if kind == "bool":
        return field, draw(st.booleans())
    if kind == "null":
        return field, draw(st.sampled_from([None, [None, "a"], [None, 5]]))
    if kind == "exists":
        return f"{field}|exists", draw(st.booleans())
    if kind == "cmp":
        op = draw(st.sampled_from(["gt", "gte", "lt", "lte"]))
        return f"{field}|{op}", draw(st.sampled_from([0, 1, 5, -1, 1.5, 4688]))
    if kind == "cidr":
        return f"{field}|cidr", _values(draw, st.sampled_from(NETWORKS))
    if kind == "fieldref":
        other = draw(st.sampled_from(FIELDS))
        mods = ["fieldref"]
        wrapper = draw(st.sampled_from(["", "contains", "startswith", "endswith"]))
        if wrapper:
            mods.append(wrapper)
        if draw(st.booleans()):
            mods.append("cased")
        return "|".join([field, *mods]), other
    key, value = draw(string_item(field))
    return key + "|neq", value


@st.composite
def search_map(draw):
    fields = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True))
    out = {}
    for field in fields:
        key, value = draw(field_item(field))
        out[key] = value
    return out


@st.composite
def keyword_search(draw):
    """A keyword list, or a map whose keys have no field name (`|contains: x`, `|re: x`, `|gt: 1`)."""
    if draw(st.booleans()):
        return draw(st.lists(st.one_of(texts, st.sampled_from([5, 4688])), min_size=1, max_size=3))
    kind = draw(st.sampled_from(["str", "str", "re", "cmp"]))
    if kind == "str":
        key, value = draw(string_item(""))
    elif kind == "re":
        key, value = draw(regex_item(""))
    else:
        key, value = draw(st.sampled_from(["|gt", "|lte"])), draw(st.sampled_from([1, 5, 1.5]))
    return {key: value}


searches = st.one_of(search_map(), search_map(), keyword_search(),
                     st.lists(search_map(), min_size=1, max_size=2))


def _of_patterns(names):
    """`1 of P` / `all of P` / `them` texts whose patterns match at least one identifier."""
    pats = {"*"}
    for n in names:
        pats.update(n[:k] + "*" for k in range(len(n)))
        pats.update("*" + n[k:] for k in range(1, len(n)))
    out = [f"{q} of {p}" for q in ("1", "all", "any", "ALL") for p in sorted(pats)]
    if any(not n.startswith("_") for n in names):
        out += ["1 of them", "all of them", "Any of Them"]
    return st.sampled_from(out)


def conditions(names):
    leaves = st.one_of(st.sampled_from(names), _of_patterns(names))

    def extend(children):
        op = st.sampled_from(["and", "or", "AND", "Or"])
        binary = st.tuples(children, op, children, st.booleans()).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})" if t[3] else f"{t[0]} {t[1]} {t[2]}")
        negated = st.tuples(st.sampled_from(["not", "NOT"]), children).map(" ".join)
        return st.one_of(binary, negated)

    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def rule(draw, rule_id: str = "r0"):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    detection = {name: draw(searches) for name in names}
    condition = conditions(names)
    if draw(st.integers(0, 5)) == 0:
        detection["condition"] = draw(st.lists(condition, min_size=1, max_size=2))
    else:
        detection["condition"] = draw(condition)
    return {"title": f"Random rule {rule_id}", "id": rule_id, "status": "test",
            "logsource": draw(st.sampled_from(LOGSOURCES)), "detection": detection}


@st.composite
def rule_sets(draw):
    n = draw(st.integers(1, 2))
    return [draw(rule(f"r{i}")) for i in range(n)]


# --- events -------------------------------------------------------------------------------

scalar_values = st.one_of(texts, texts, numbers, st.booleans(), st.none(),
                          st.sampled_from(ADDRESSES), st.sampled_from(["TRUE", "4688", " 5", "1_0",
                                                                        "inf", "1e1", "a-b /c"]))
event_values = st.one_of(scalar_values, scalar_values, st.lists(scalar_values, max_size=3))
random_events = st.dictionaries(st.sampled_from(EVENT_FIELDS), event_values, max_size=len(FIELDS))


def _instantiate(draw, value: str, mods: list[str]) -> str:
    """A text that a Sigma string value (with its modifiers) is likely to match."""
    parts = patterns.parse(value) if "base64offset" not in mods else (value,)
    out = []
    for p in parts:
        if p is Wild.ANY:
            out.append(draw(fill_texts))
        elif p is Wild.ONE:
            out.append(draw(st.sampled_from(FILL_ALPHABET)))
        else:
            out.append(p)
    text = "".join(out)
    if "windash" in mods:
        text = "".join(draw(st.sampled_from(WINDASH_CHARS)) if c in "-/" else c for c in text)
    if "base64offset" in mods:
        pad = draw(st.sampled_from(["", "a", "ab"]))
        text = base64.b64encode((pad + text + draw(fill_texts)).encode("utf-8")).decode()
        text = text[: len(text) - draw(st.integers(0, 2))]
    if "cased" not in mods and draw(st.booleans()):
        text = text.swapcase()
    if {"contains", "endswith"} & set(mods) and draw(st.booleans()):
        text = draw(fill_texts) + text
    if {"contains", "startswith"} & set(mods) and draw(st.booleans()):
        text = text + draw(fill_texts)
    return text


def _derive(draw, key: str, value, event: dict):
    """A value for the field of `key` that makes the item likely to hold."""
    field, *mods = key.split("|")
    values = value if isinstance(value, list) else [value]
    if "fieldref" in mods:
        return event.get(value, draw(texts))
    if "cidr" in mods:
        return draw(st.sampled_from(ADDRESSES))
    if {"gt", "gte", "lt", "lte"} & set(mods):
        n = values[0]
        return draw(st.sampled_from([n, n + 1, n - 1, str(n), str(n + 1)]))
    if "exists" in mods:
        return draw(texts) if value else None
    if "re" in mods:
        rx = draw(st.sampled_from(values))
        return "".join(c for c in rx if c not in "^$()[]|\\*?") + draw(fill_texts)
    derived = []
    for v in values:
        if v is None or isinstance(v, bool):
            derived.append(draw(st.sampled_from([v, str(v).lower(), str(v).upper()])))
        elif isinstance(v, (int, float)) and not mods:
            derived.append(draw(st.sampled_from([v, str(v), float(v), str(float(v))])))
        else:
            derived.append(_instantiate(draw, str(v) if not isinstance(v, str) else v, mods))
    if len(derived) == 1 or "all" not in mods and draw(st.booleans()):
        return draw(st.sampled_from(derived))
    if "all" in mods and {"contains"} & set(mods) and draw(st.booleans()):
        return " ".join(str(x) for x in derived)
    return derived


def _items(detection: dict):
    for name, search in detection.items():
        if name == "condition":
            continue
        maps = search if isinstance(search, list) and all(isinstance(m, dict) for m in search) \
            else [search] if isinstance(search, dict) else [{"": search}]
        yield from (item for m in maps for item in m.items())


@st.composite
def derived_event(draw, rule_dict: dict):
    """An event built from (a random subset of) the rule's items, plus random noise."""
    event = draw(random_events) if draw(st.booleans()) else {}
    items = list(_items(rule_dict["detection"]))
    chosen = draw(st.lists(st.sampled_from(items), min_size=1, max_size=len(items) + 1))
    for key, value in chosen:
        field = key.split("|")[0]
        derived = _derive(draw, key, value, event)
        if not field:  # keywords: any field will do
            if isinstance(derived, list):
                derived = draw(st.sampled_from(derived))
            field = draw(st.sampled_from(FIELDS))
        event[field] = derived
    return event


@st.composite
def cases(draw):
    """(options, rules, events): 1-2 rules, a few random events and a few derived from the rules."""
    options = draw(st.sampled_from(OPTIONS))
    rules = draw(rule_sets())
    events = draw(st.lists(random_events, min_size=1, max_size=3))
    for _ in range(draw(st.integers(2, 5))):
        events.append(draw(derived_event(draw(st.sampled_from(rules)))))
    if options.logsource != "ignore":
        for ev in events:
            if draw(st.integers(0, 3)):
                ev["Channel"] = draw(st.sampled_from(CHANNELS))
                ev["EventID"] = draw(st.sampled_from([1, 4688, "4688", 3]))
    return options, rules, events
