"""A module's text in parts: `assemble` puts every rule's code (RuleCode) into one module;
`splice` makes the next build's module from the last one's parts when only some rules'
code was made again (a rebuild after a few changed rule files) and nothing the rest of the
module depends on changed.

    a = assemble(codes, options, plan)       # an Assembly; a.text() is the module
    b = splice(a, ids, files, codes2, options, plan)   # codes2[i] None: rule i as in `a`

The module is a *frame* (header, constants, logsource functions, shared searches, the
tables' heads and tails: templates/module.py.j2) around three columns with one entry per
rule: its functions, its MATCHERS line and its RULES_JSON line, then LINEMAP_JSON. What a
rule's entries depend on besides its own code: its index, which of its search bodies are
shared (writer: emitted once as `_s_<hash>`) and its logsource's index. What the frame
depends on is the *head*: the rule count, the logsource keys, the constants in the order
first used, the shared bodies (each with how many searches use it and the first of them)
and the correlation plan's lines. A splice computes the head from the parts it keeps and
the codes made again; if it equals the last head and every kept rule is at the index and
from the file it was, the frame and the kept entries are the same text, so the module is
the clean build's, byte for byte (tests/compiler/test_build_cache.py); anything else
(a rule added or removed, a logsource or a shared body appearing or going away, ...) is
None: the caller assembles from every rule's code.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import orjson

from sigcc import __version__
from sigcc.backends.python.emitter import Constants, Emitter
from sigcc.compiler.dispatch import dispatch_fields, dispatch_spec
from sigcc.compiler.logsources import logsource_condition
from sigcc.correlation.serial import plan_lines
from sigcc.options import Options
from sigcc.runtime.helpers import __all__ as HELPERS

FORMAT = 2  # SIGCC_FORMAT of the modules written
SLOT = "\x01"  # stands for the rule's index in RuleCode text (writer.RuleCode)
_MARK = "\x00"  # where the columns go in the rendered frame (rule text reaches code only
#                 through repr(), which escapes control characters: never in a frame)
_ENV = None


def _template():
    global _ENV
    if _ENV is None:  # (jinja2 is imported when a frame is rendered, not for a splice)
        import jinja2

        _ENV = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
            trim_blocks=True, lstrip_blocks=True)
        _ENV.filters["py"] = repr
    return _ENV.get_template("module.py.j2")


@dataclass
class Assembly:
    """A module in parts. The per-rule columns are lists (index = the rule's index): a
    rebuild unpickles them from the build cache, and lists of strings unpickle fastest.

    rows: per rule, its functions' LINEMAP rows as (line in its code, the rest of the row's
    JSON after the line number); info: per rule, (logsource key, its constants' names,
    per search (body key or None, name, line)): what the head is computed from."""

    frame: list[str]  # 4 pieces: before the rules' code, MATCHERS, RULES_JSON, after
    head: tuple
    shared_rows: list  # LINEMAP rows of the frame's shared functions: (line, file, rule line)
    ids: list[str]
    files: list[str]
    code: list[str]
    matchers: list[str]
    json: list[str]
    lines: list[int]  # newlines in each rule's code
    rows: list[tuple]
    info: list[tuple]

    def text(self) -> str:
        return "".join(self.pieces())

    def write(self, fh) -> None:
        """The module's text to a text file, piece by piece (not joined in memory first)."""
        fh.writelines(self.pieces())

    def pieces(self):
        first, between, after_matchers, last = self.frame
        yield first
        yield from self.code_lines()
        yield between
        yield from self.matchers
        yield after_matchers
        yield from self.json if self.json else ('    ""\n',)
        yield last
        yield "\n# generated line -> rule file, rule line; one JSON array per line\nLINEMAP_JSON = (\n"
        rows = self.linemap()
        yield from rows if rows else ('    ""\n',)
        yield ")\n"

    def code_lines(self):
        for c in self.code:
            yield c
            yield "\n"

    def linemap(self) -> list[str]:
        """LINEMAP_JSON's lines: [generated line, rule file, rule line] per function."""
        line = self.frame[0].count("\n") + 1  # where the first rule's code begins
        out = [f"    {orjson.dumps(r).decode() + chr(10)!r}\n" for r in self.shared_rows]
        for n, rows in zip(self.lines, self.rows):
            for at, rest in rows:
                out.append(f"    {f'[{line + at},{rest}' + chr(10)!r}\n")
            line += n + 1
        return out


def body_key(body: str) -> bytes:
    return hashlib.sha1(body.encode("utf-8", "surrogatepass")).digest()


def _info(c) -> tuple:
    return (c.logsource_key, tuple(name for name, _ in c.consts),
            tuple((None if s.body is None else body_key(s.body), s.name, s.line)
                  for s in c.searches))


def _head(info: list[tuple], ids: list[str], files: list[str], plan) -> tuple:
    """What the frame is made from (see the module docstring), from the rules' info."""
    consts: dict = {}
    uses: dict = {}  # body key -> [searches using it, first rule's index, its search]
    for i, (_, names, searches) in enumerate(info):
        for name in names:
            consts.setdefault(name, None)
        for key, name, line in searches:
            if key is not None:
                u = uses.get(key)
                if u is None:
                    uses[key] = [1, i, name, line]
                else:
                    u[0] += 1
    shared = tuple((key, n, ids[i], name, files[i], line)
                   for key, (n, i, name, line) in uses.items() if n > 1)
    lines = tuple(plan_lines(plan)) if plan is not None else ()
    return (len(info), tuple(sorted({x[0] for x in info})), tuple(consts), shared, lines)


def _rule(c, slot: int, shared: dict, ls_index: dict) -> tuple:
    """Rule `slot`'s entries: (code, MATCHERS line, RULES_JSON line, newlines, rows)."""
    slot = str(slot)
    lines = [c.head]  # (pieces of lines, joined by line breaks)
    fns, marks = [], {}
    for s in c.searches:
        fn = s.fn.replace(SLOT, slot)
        fns.append(fn)
        name = shared.get(s.body) if s.body is not None else None
        if name is not None:
            lines += ["", f"# search {s.name!r}, line {s.line}: shared, {name}", f"{fn} = {name}"]
            continue
        lines.append(s.text)
        for f in s.defined:
            marks[f.replace(SLOT, slot)] = s.line
    lines.append(c.cond)
    lines.append("")
    for f in c.cond_defined:
        marks[f.replace(SLOT, slot)] = c.cond_line
    row = dict(c.row)
    row["logsource_index"] = ls_index[c.logsource_key]
    code = "\n".join(lines).replace(SLOT, slot)
    return (code, f"    (_r{slot}, ({''.join(f + ', ' for f in fns)})),\n",
            f"    {orjson.dumps(row).decode() + chr(10)!r}\n", code.count("\n"),
            _rows(code, marks, c.file))


def _rows(text: str, marks: dict, file: str) -> tuple:
    """(newlines before the line, the row's JSON after its line number) of each function of
    `marks` (name -> rule line) that `text` defines, in text order."""
    rows = []
    i = text.find("\ndef _")
    while i >= 0:
        start = i + 5  # the name's first character
        fn = text[start:text.index("(", start)]
        if fn in marks:
            rows.append((text.count("\n", 0, i + 1), orjson.dumps([file, marks[fn]]).decode()[1:]))
        i = text.find("\ndef _", start)
    return tuple(rows)


def assemble(codes: list, options: Options, plan=None) -> Assembly:
    """The module of these rules' codes (writer.RuleCode), in this order. With
    options.optimize, a search body that several rules have is one function
    `_s_<hash of the body>`, and each such rule's search is that function under its own name."""
    info = [_info(c) for c in codes]
    ids, files = [c.row["id"] for c in codes], [c.file for c in codes]
    head = _head(info, ids, files, plan)
    bodies = {}
    if options.optimize:
        for c, (_, _, searches) in zip(codes, info):
            for s, (key, _, _) in zip(c.searches, searches):
                if key is not None:
                    bodies.setdefault(key, s.body)
    frame, shared_rows = _frame(head, codes, bodies, options)
    shared = _shared_names(head, bodies) if options.optimize else {}
    ls_index = {k: i for i, k in enumerate(head[1])}
    parts = [_rule(c, i, shared, ls_index) for i, c in enumerate(codes)]
    return Assembly(frame, head, shared_rows, ids, files, *map(list, zip(*parts)), info) \
        if parts else Assembly(frame, head, shared_rows, [], [], [], [], [], [], [], [])


def splice(old: Assembly, ids: list[str], files: list[str], codes: list, options: Options,
           plan=None) -> Assembly | None:
    """The module of `old` with the rules whose code is given (codes[i] not None) made anew;
    rule i with codes[i] None is old's rule i. None when that is not the clean build's
    module: a kept rule at another index or from another file, or another head."""
    n = len(codes)
    if len(old.ids) != n or old.ids != ids or old.files != files:
        return None
    made = [i for i, c in enumerate(codes) if c is not None]
    info = list(old.info)
    for i in made:
        info[i] = _info(codes[i])
    head = _head(info, ids, files, plan)
    if head != old.head:
        return None
    if not made:
        return old
    new = Assembly(old.frame, head, old.shared_rows, old.ids, old.files, list(old.code),
                   list(old.matchers), list(old.json), list(old.lines), list(old.rows), info)
    bodies = {key: s.body for i in made for s, (key, _, _) in zip(codes[i].searches, info[i][2])
              if key is not None}
    shared = _shared_names(head, bodies) if options.optimize else {}
    ls_index = {k: i for i, k in enumerate(head[1])}
    for i in made:
        (new.code[i], new.matchers[i], new.json[i], new.lines[i],
         new.rows[i]) = _rule(codes[i], i, shared, ls_index)
    return new


def _shared_names(head: tuple, bodies: dict) -> dict:
    """Body text -> its shared function's name, for the shared bodies among `bodies`."""
    return {bodies[key]: f"_s_{key.hex()[:12]}" for key, *_ in head[3] if key in bodies}


def _frame(head: tuple, codes: list, bodies: dict, options: Options) -> tuple[list, list]:
    """The frame's 4 pieces, and the LINEMAP rows of its shared functions."""
    count, ls_keys, _, shared, plan = head
    ls_consts = Constants()
    ls_emitter = Emitter(ls_consts)
    logsources = []
    key_fields = dispatch_fields(options.field_names)
    for k in ls_keys:
        cond = logsource_condition(k, options.field_names)
        logsources.append({"key": k, "code": ls_emitter.expr(cond),
                           "dispatch": dispatch_spec(cond, key_fields)})
    if ls_emitter.helpers:  # (the table's conditions are three levels deep)
        raise AssertionError("a logsource condition nested past emitter.MAX_NESTING")
    consts: dict[str, str] = {}
    for name, source in ls_consts.pairs() + [p for c in codes for p in c.consts]:
        if consts.setdefault(name, source) != source:  # 48 bits of SHA-1: never seen
            raise AssertionError(f"two constants named {name}")
    lines, marks = [], {}
    if options.optimize:
        for key, n, rule_id, search, file, line in shared:
            name = f"_s_{key.hex()[:12]}"
            lines += ["", f"def {name}({Emitter.ARGS}):",
                      f"    # shared by {n} searches; first: rule {rule_id!r} search "
                      f"{search!r}, {file!r} line {line}"]
            lines += [f"    {line_}" for line_ in bodies[key].split("\n")]
            marks[name] = (file, line)
    text = _template().render(
        version=__version__, format=FORMAT, options=options.runtime_flags(),
        helpers=HELPERS, constants=[f"{n} = {src}" for n, src in consts.items()],
        logsources=logsources, rule_count=count, rules_code=_MARK, matchers=_MARK,
        rules_json=_MARK, shared="\n".join(lines), dispatch_fields=key_fields,
        correlations=list(plan))
    frame = text.split(_MARK)
    if len(frame) != 4:
        raise AssertionError("a module frame holds a NUL character of its own")
    rows = [(frame[0].count("\n", 0, at + 1) + 1, *marks[fn])
            for at, fn in _defs(frame[0]) if fn in marks]
    return frame, rows


def _defs(text: str):
    i = text.find("\ndef _")
    while i >= 0:
        start = i + 5
        yield i, text[start:text.index("(", start)]
        i = text.find("\ndef _", start)
