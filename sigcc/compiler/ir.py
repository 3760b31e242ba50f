"""The intermediate representation: frozen, slotted dataclasses and nothing else.

Two layers:
- *tests* say what one field value must satisfy (`StrMatch`, `RegexMatch`, `NumEq`, ...);
- *expressions* combine them (`Match` binds a test to a field, `And`/`Or`/`Not`/`Const`,
  `Ref` names a search identifier of the same rule).

A `RuleIR` holds the searches (identifier -> expression), the condition over `Ref`s, and the
logsource condition (an expression over event fields, from the logsource table).
Behaviour lives in functions elsewhere (passes, backends, the interpreter); spans are kept
out of equality so equal tests are equal wherever they were written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Union

from sigcc.diagnostics import Span


class Wild(Enum):
    """A wildcard inside a Sigma string: `*` (any run) or `?` (exactly one character)."""

    ANY = "*"
    ONE = "?"

    # Members are singletons compared by identity: hash them so (Enum's __hash__ is Python
    # code, and IR nodes holding parts are hashed often by the passes).
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"Wild.{self.name}"


Part = Union[str, Wild]


# --- tests on one field value -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StrMatch:
    """The value matches a Sigma string: literal text and wildcards, case-insensitive unless cased."""

    parts: tuple[Part, ...]
    cased: bool = False


@dataclass(frozen=True, slots=True)
class RegexMatch:
    """`re.search` of `pattern`; flags is a sorted string of i/m/s."""

    pattern: str
    flags: str = ""


@dataclass(frozen=True, slots=True)
class NumEq:
    """A YAML number: equal numerically, or as its decimal string."""

    value: int | float


@dataclass(frozen=True, slots=True)
class Compare:
    """Numeric comparison (gt, gte, lt, lte) of the value against a number."""

    op: str
    value: int | float


@dataclass(frozen=True, slots=True)
class BoolEq:
    """A YAML boolean: the value is that boolean, or the string true/false."""

    value: bool


@dataclass(frozen=True, slots=True)
class Null:
    """`field: null`: the field is absent or null."""


@dataclass(frozen=True, slots=True)
class Exists:
    """`field|exists: true`: the field is present and not null."""


@dataclass(frozen=True, slots=True)
class Cidr:
    """The value is an IP address inside `network` (normalised text, IPv4 or IPv6)."""

    network: str


@dataclass(frozen=True, slots=True)
class FieldRef:
    """The value equals (or starts/ends with, contains) the value of field `other`."""

    other: str
    kind: str = "eq"  # eq | prefix | suffix | contains
    cased: bool = False


@dataclass(frozen=True, slots=True)
class TimePart:
    """The value, parsed as a timestamp, has `part` (minute..year) equal to `value`."""

    part: str
    value: int


@dataclass(frozen=True, slots=True)
class AnyOf:
    """One of several plain strings of one kind: eq / prefix / suffix / contains.

    Made by the merge pass from an OR of simple StrMatch tests on one field; values are
    kept in first-seen order without duplicates (deterministic output).
    """

    kind: str
    values: tuple[str, ...]
    cased: bool = False


Test = Union[StrMatch, RegexMatch, NumEq, Compare, BoolEq, Null, Exists, Cidr, FieldRef, TimePart,
             AnyOf]


# --- expressions --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Match:
    """`test` holds for the value of `field`; field None means any field (keyword search)."""

    field: str | None
    test: Test
    span: Span = field(default=Span(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: "Expr"


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class Ref:
    """A search identifier of the same rule, by name."""

    name: str
    span: Span = field(default=Span(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class OfPattern:
    """`1 of x*` / `all of them` as parsed; lowering expands it to Or/And of Refs."""

    quantifier: str  # "any" | "all"
    pattern: str | None  # None: them
    span: Span = field(default=Span(), compare=False, repr=False)


Expr = Union[Match, And, Or, Not, Const, Ref, OfPattern]


# --- rules --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Logsource:
    product: str | None = None
    category: str | None = None
    service: str | None = None
    definition: str | None = None


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """What a match reports about its rule, and where the rule came from."""

    id: str
    title: str
    level: str | None
    status: str | None
    tags: tuple[str, ...]
    logsource: Logsource
    references: tuple[str, ...]
    description: str | None
    author: str | None
    falsepositives: tuple[str, ...]
    file: str
    line: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Search:
    """One search identifier: its name, expression and the line it starts on."""

    name: str
    expr: Expr
    line: int = 0


@dataclass(frozen=True, slots=True)
class RuleIR:
    meta: RuleMeta
    searches: tuple[Search, ...]
    condition: Expr  # over Ref nodes
    condition_text: str
    condition_line: int
    logsource_key: str  # name of the logsource condition, see compiler/logsources.py
