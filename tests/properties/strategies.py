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


# --- Windows logsources (for the speed switches: logsource dispatch) -----------------------
# Rules get Windows (and other) logsources; events get Channel/EventID values that sometimes
# fit a rule's logsource exactly, sometimes only up to case or int-vs-str, and sometimes not.

WINDOWS_LOGSOURCES = (
    {"product": "windows", "category": "process_creation"},
    {"product": "windows", "category": "process_creation"},
    {"product": "windows", "category": "process_creation", "service": "sysmon"},
    {"product": "windows", "service": "security"},
    {"product": "windows", "service": "sysmon"},
    {"product": "Windows", "service": "Security"},
    {"product": "windows", "service": "powershell"},  # two channels
    {"product": "windows", "category": "registry_set"},
    {"product": "windows", "category": "registry_event"},  # EventID 12, 13 or 14
    {"product": "windows", "category": "registry_add"},  # EventID 12 and an EventType
    {"product": "windows", "category": "ps_script"},
    {"product": "windows"},  # every Windows event
    {"product": "windows", "category": "no_such_category"},  # unmapped: every Windows event
    {"product": "linux"},
    {"product": "linux", "service": "auditd"},
    {"category": "process_creation"},  # no product: not a Windows rule
)
WINDOWS_CHANNELS = ("Security", "security", "SECURITY", "Microsoft-Windows-Sysmon/Operational",
                    "microsoft-windows-sysmon/operational", "Microsoft-Windows-PowerShell/Operational",
                    "PowerShellCore/Operational", "System", "Application", "", " Security",
                    "Security ", None, ["Security"], ["System", "Microsoft-Windows-Sysmon/Operational"])
WINDOWS_EVENT_IDS = (1, "1", 13, "13", 12, 14, 4688, "4688", 4688.0, 4104, "4104", 3, 0, "x", " 1",
                     "01", True, None, [1, 13], ["4688"])
EVENT_TYPES = ("CreateKey", "createkey", "SetValue", "DeleteKey")
WINDOWS_OPTIONS = (Options(), Options(), Options(), Options(field_names="insensitive"),
                   Options(collapse_whitespace=True), Options(keyword_contains=False))
EXTRA_SEARCHES = ({"EventID": [1, 13]}, {"EventID": 4688}, {"Channel": "Security"},
                  {"Channel|contains": "sysmon"}, {"EventID|gt": 12}, {"EventType": "CreateKey"})


def _fitting_contexts(logsource: dict) -> list[dict]:
    """Channel/EventID(/EventType) values an event of this logsource carries (by the table)."""
    from sigcc.compiler.logsources import windows_table

    if (logsource.get("product") or "").lower() != "windows":
        return []
    table = windows_table()
    category = (logsource.get("category") or "").lower()
    service = (logsource.get("service") or "").lower()
    out = []
    if category in table["categories"]:
        for alt in table["categories"][category]:
            if service and alt["service"] != service:
                continue
            eids = alt.get("EventID")
            for channel in table["services"][alt["service"]]:
                for eid in eids if isinstance(eids, list) else [eids]:
                    ctx = {"Channel": channel, "EventID": eid}
                    ctx.update({k: v for k, v in alt.items()
                                if k not in ("service", "EventID", "aliases")})
                    out.append(ctx)
    elif service in table["services"]:
        out = [{"Channel": c, "EventID": 1} for c in table["services"][service]]
    elif not category and not service:
        out = [{"Channel": "System", "EventID": 7045}]
    return out


@st.composite
def windows_context(draw, rules: list[dict]) -> dict:
    """Channel/EventID/EventType for an event: fitting one of the rules (perturbed), or random."""
    fitting = [ctx for r in rules for ctx in _fitting_contexts(r["logsource"])]
    if fitting and draw(st.integers(0, 2)):
        ctx = dict(draw(st.sampled_from(fitting)))
        how = draw(st.sampled_from(["exact", "exact", "lower", "upper", "eid-str", "eid-float",
                                    "no-eid", "no-type"]))
        if how == "lower":
            ctx["Channel"] = ctx["Channel"].lower()
        elif how == "upper":
            ctx["Channel"] = ctx["Channel"].upper()
        elif how == "eid-str":
            ctx["EventID"] = str(ctx["EventID"])
        elif how == "eid-float":
            ctx["EventID"] = float(ctx["EventID"])
        elif how == "no-eid":
            del ctx["EventID"]
        elif how == "no-type":
            ctx.pop("EventType", None)
        return ctx
    ctx = {}
    if draw(st.integers(0, 4)):
        ctx["Channel"] = draw(st.sampled_from(WINDOWS_CHANNELS))
    if draw(st.integers(0, 4)):
        ctx["EventID"] = draw(st.sampled_from(WINDOWS_EVENT_IDS))
    if draw(st.integers(0, 3)) == 0:
        ctx["EventType"] = draw(st.sampled_from(EVENT_TYPES))
    return ctx


@st.composite
def windows_rule(draw, rule_id: str = "r0"):
    """A random rule with a Windows (or other) logsource; sometimes it also tests EventID or
    Channel itself (`evt and (...)`)."""
    r = draw(rule(rule_id))
    r["logsource"] = draw(st.sampled_from(WINDOWS_LOGSOURCES))
    det = r["detection"]
    if isinstance(det["condition"], str) and draw(st.integers(0, 4)) == 0:
        det["evt"] = draw(st.sampled_from(EXTRA_SEARCHES))
        det["condition"] = f"evt and ({det['condition']})"
    return r


@st.composite
def windows_cases(draw):
    """(options, rules, events) with logsource gating on: 1-4 rules of mixed logsources, and
    random and rule-derived events with a Channel/EventID that may or may not fit."""
    options = draw(st.sampled_from(WINDOWS_OPTIONS))
    n = draw(st.integers(1, 4))
    rules = [draw(windows_rule(f"r{i}")) for i in range(n)]
    events = []
    for ev in draw(st.lists(random_events, min_size=1, max_size=2)):
        if draw(st.integers(0, 5)):
            ev.update(draw(windows_context(rules)))
        events.append(ev)
    for _ in range(draw(st.integers(2, 5))):
        r = draw(st.sampled_from(rules))
        ev = draw(derived_event(r))
        if draw(st.integers(0, 5)):  # mostly a context for the rule the event comes from
            ev.update(draw(windows_context([r] if draw(st.integers(0, 2)) else rules)))
        events.append(ev)
    for ev in events:
        # Security 4688 names the image NewProcessName; the runtime adds Image as an alias
        if "Image" in ev and ev.get("Channel") == "Security" and draw(st.booleans()):
            ev["NewProcessName"] = ev.pop("Image")
    return options, rules, events


# --- non-ASCII case mappings (for the literal prefilter, which matches lower-cased text) ---
# The same cases with letters of the pools replaced, in rule values and event values alike,
# by letters whose lower-casing is special: final sigma (context-dependent), dotted capital I
# (lower-cases to two characters), capital sharp s, Kelvin sign, title-case dz.

CASE_MAPPINGS = (
    {"a": "\u03a3", "A": "\u03c3"},  # Σ / σ (Σ lower-cases to ς at the end of a word)
    {"a": "\u03c2", "A": "\u03a3"},  # ς / Σ
    {"b": "\u0130", "B": "i\u0307"},  # İ / its lower-case form (two characters)
    {"a": "\u1e9e", "A": "\u00df"},  # ẞ / ß
    {"b": "\u212a", "B": "k"},  # Kelvin sign / k
    {"a": "\u01c5", "A": "\u01c6"},  # ǅ (title case) / ǆ
    {"a": "\u03a3", "b": "\u0130"},
)
_UNTRANSLATED_FIELDS = ("Channel", "EventID", "EventType")


def _translate(x, table: dict):
    if isinstance(x, str):
        return x.translate(table)
    if isinstance(x, list):
        return [_translate(v, table) for v in x]
    if isinstance(x, dict):
        return {k: v if k in _UNTRANSLATED_FIELDS or k == "condition" else _translate(v, table)
                for k, v in x.items()}
    return x


@st.composite
def unicode_cases(draw):
    """`cases` or `windows_cases` with some pool letters swapped for special-case letters."""
    options, rules, events = draw(st.one_of(cases(), windows_cases()))
    table = str.maketrans(draw(st.sampled_from(CASE_MAPPINGS)))
    rules = [dict(r, detection=_translate(r["detection"], table)) for r in rules]
    return options, rules, [_translate(ev, table) for ev in events]
