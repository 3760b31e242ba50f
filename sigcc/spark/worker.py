"""What runs on a Spark executor: rule modules loaded once per Python worker, events matched
a partition at a time, and the correlation engine run over one group partition.

Nothing here imports pyspark: an executor needs sigcc (with its runtime dependencies) and
pyarrow. The driver (job.py) hands these functions to `mapInArrow`; each gets an iterator of
Arrow record batches and yields batches of the STAGE schema below.

    rulesets(sources, digest, switches)    # -> [Ruleset], built once per worker process
    match_batches(batches, ctx)            # events stage: files / JSON text / struct rows in
    correlate_batches(batches, ctx)        # correlation stage: one sorted group partition in

Rows of kind `_corr` carry one correlation input (a base-rule match a correlation refers to)
from the events stage to the correlation stage; rows of kind `_stats` carry the events read
per partition. Neither is part of what `detect` returns.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from typing import Iterable, Iterator

import pyarrow as pa

from sigcc.options import Options
from sigcc.runtime.items import Problem, Record, event_item
from sigcc.runtime.json_text import EventError, decode, size_error
from sigcc.runtime.output import dumps, match_record

KINDS = ("match", "problem", "rule_error", "correlation")

# the rows `detect` returns (Spark DDL and the Arrow schema the workers write)
PUBLIC = [
    ("kind", "string", pa.string()), ("rule_id", "string", pa.string()),
    ("title", "string", pa.string()), ("level", "string", pa.string()),
    ("tags", "array<string>", pa.list_(pa.string())),
    ("searches", "array<string>", pa.list_(pa.string())),
    ("file", "string", pa.string()), ("record", "long", pa.int64()),
    ("timestamp", "string", pa.string()), ("computer", "string", pa.string()),
    ("evtx_record", "long", pa.int64()), ("message", "string", pa.string()),
    ("count", "long", pa.int64()), ("firing", "string", pa.string()),
]
# plus, between the stages: the correlation input's component, partition key, event time
# (µs), its order in the input (file, position, match) and the fields the plan reads
INTERNAL = [
    ("comp", "int", pa.int32()), ("pkey", "string", pa.string()), ("t", "long", pa.int64()),
    ("o1", "long", pa.int64()), ("o2", "long", pa.int64()), ("o3", "long", pa.int64()),
    ("fields", "binary", pa.binary()),
]
STAGE = PUBLIC + INTERNAL
PUBLIC_DDL = ", ".join(f"`{n}` {t}" for n, t, _ in PUBLIC)
STAGE_DDL = ", ".join(f"`{n}` {t}" for n, t, _ in STAGE)
STAGE_SCHEMA = pa.schema([(n, a) for n, _, a in STAGE])
BATCH_ROWS = 4096  # output rows per Arrow batch

_CACHE: dict[tuple, list] = {}  # (digest, switches) -> [Ruleset]: one load per worker process


def digest(sources: list[str]) -> str:
    h = hashlib.sha256()
    for s in sources:
        h.update(s.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def rulesets(sources, key: str, switches: tuple = (None, None)) -> list:
    """The rulesets of the shipped module sources, compiled once per Python worker.
    `sources` is a callable returning the texts (a broadcast's value, read only on a miss)."""
    cached = _CACHE.get((key, switches))
    if cached is None:
        from sigcc.runtime.ruleset import Ruleset

        dispatch, prefilter = switches
        cached = [Ruleset.from_source(src, f"<sigcc spark module {i + 1}>", dispatch=dispatch,
                                      prefilter=prefilter)
                  for i, src in enumerate(sources())]
        _CACHE[(key, switches)] = cached
    return cached


# --- correlation components ---------------------------------------------------------------

def components(plan) -> list[tuple[tuple[int, ...], object]]:
    """The plan's steps split into chains (steps linked by one referring to another), each
    with a sub-plan an Engine runs alone: [(step indexes, Plan)], in plan order."""
    from sigcc.correlation.resolve import Plan

    steps = plan.steps
    parent = list(range(len(steps)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    where = {s.correlation.id: i for i, s in enumerate(steps)}
    for i, s in enumerate(steps):
        for inp in s.inputs:
            if inp.is_correlation and inp.target in where:
                parent[find(i)] = find(where[inp.target])
    groups: dict[int, list[int]] = {}
    for i in range(len(steps)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for members in sorted(groups.values()):
        sub = tuple(steps[i] for i in members)
        base = tuple(dict.fromkeys(inp.target for s in sub for inp in s.inputs
                                   if not inp.is_correlation))
        out.append((tuple(members), Plan(base, sub, plan.silent)))
    return out


class Routes:
    """Per ruleset: where a base-rule match goes in the correlation stage. For each rule a
    correlation refers to, [(component number, fields to carry, group fields or None)]:
    a component of one correlation is partitioned by that correlation's group key (so each
    group's matches meet in one task); a chain of correlations runs in one task."""

    def __init__(self, sets):
        self.comps: list[tuple[int, object]] = []  # global component -> (ruleset, Plan)
        self.by_rule: list[dict[str, list]] = []
        self.silent = [rs.plan.silent for rs in sets]
        for k, rs in enumerate(sets):
            routes: dict[str, list] = {}
            for members, sub in components(rs.plan):
                cid = len(self.comps)
                self.comps.append((k, sub))
                need: dict[str, set] = {}
                group: dict[str, tuple] = {}
                for s in sub.steps:
                    for inp in s.inputs:
                        if inp.is_correlation:
                            continue
                        f = need.setdefault(inp.target, set())
                        f.update(inp.group_fields)
                        if inp.value_field:
                            f.add(inp.value_field)
                        group[inp.target] = inp.group_fields if len(sub.steps) == 1 else None
                for rule, fields in need.items():
                    routes.setdefault(rule, []).append((cid, tuple(sorted(fields)), group[rule]))
            self.by_rule.append(routes)


def partition_key(fields: dict, group_fields) -> str:
    """The text a correlation input is repartitioned by: its group key, as the engine
    compares it (values.key_part); "" for a chain (one task) or a match without one (the
    engine counts it wherever it lands)."""
    if group_fields is None:
        return ""
    from sigcc.correlation.values import key_part

    parts = []
    for f in group_fields:
        p = key_part(fields.get(f))
        if p is None:
            return ""
        parts.append(p)
    return repr(tuple(parts))


# --- the events stage ---------------------------------------------------------------------

class _Out:
    """Columns of STAGE rows being collected; `batch()` when enough are held."""

    def __init__(self):
        self.cols = {n: [] for n, _, _ in STAGE}
        self.n = 0

    def row(self, **values) -> None:
        for name, col in self.cols.items():
            col.append(values.get(name))
        self.n += 1

    def full(self) -> bool:
        return self.n >= BATCH_ROWS

    def batch(self) -> pa.RecordBatch:
        b = pa.RecordBatch.from_pydict(self.cols, schema=STAGE_SCHEMA)
        self.cols = {n: [] for n in self.cols}
        self.n = 0
        return b


def _text(v):
    return v if v is None or v.__class__ is str else dumps(v).decode()


def _record(v):
    return v if v is None or (v.__class__ is int and -2**63 <= v < 2**63) else None


class Context:
    """What a task needs besides its rows (pickled with the function: small). `sources` is
    a broadcast's `.value` getter; `files` maps Spark's paths to (order, name as reported)."""

    def __init__(self, sources, key, switches, options: Options, timestamp_field,
                 mode: str, files=None, cols=None):
        self.sources, self.key, self.switches = sources, key, switches
        self.options, self.timestamp_field = options, timestamp_field
        self.mode, self.files, self.cols = mode, files or {}, cols or {}


def local_key(path: str) -> str:
    """A file's path as Spark and the driver both can say it: 'file:' and extra slashes off."""
    if path.startswith("file:"):
        path = "/" + path[5:].lstrip("/")
    return path


def _file_items(path: str, content: bytes, options: Options) -> Iterator:
    """One whole file's items, read by sigcc's own readers (exactly what scan reads)."""
    from sigcc.runtime.inputs import EVTX_SUFFIXES, JSONL_SUFFIXES, read_file, read_jsonl_stream
    import io

    suffix = os.path.splitext(path)[1].lower()
    if suffix in JSONL_SUFFIXES:
        yield from read_jsonl_stream(io.BytesIO(content), path, options)
        return
    if suffix not in EVTX_SUFFIXES + (".json",):
        yield Problem(path, None, f"unsupported input type {suffix or '(none)'}; use .evtx, "
                                  ".json, .jsonl/.ndjson or .parquet")
        return
    # the EVTX and .json readers read a file (header by header, or mapped): give them one
    fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="sigcc-spark-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        for item in read_file(tmp, options):
            yield (Record(path, item.record, item.event, item.evtx_record)
                   if isinstance(item, Record) else
                   Problem(path, item.record, item.message.replace(tmp, path), item.lost, item.limit))
    finally:
        os.unlink(tmp)


def _normal(v):
    """A value from an Arrow struct row as JSON would hold it (null fields are absent)."""
    cls = v.__class__
    if cls is dict:
        return {k: _normal(x) for k, x in v.items() if x is not None}
    if cls is list:
        return [_normal(x) for x in v]
    if cls in (str, int, float, bool):
        return v
    import datetime
    import decimal

    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return v.isoformat() + "Z"
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _items(batch: pa.RecordBatch, ctx: Context) -> Iterator[tuple]:
    """(item, o1, o2) for a batch's rows: o1/o2 order the items as scan reads them."""
    options = ctx.options
    if ctx.mode == "files":
        for path, content in zip(batch.column("path").to_pylist(),
                                 batch.column("content").to_pylist()):
            order, name = ctx.files.get(local_key(path), (None, path))
            if order is None:
                order = int.from_bytes(hashlib.sha256(path.encode()).digest()[:7], "big")
            for pos, item in enumerate(_file_items(name, content, options)):
                yield item, order, pos
        return
    c = ctx.cols
    n = batch.num_rows
    files = batch.column(c["file"]).to_pylist() if c.get("file") else [None] * n
    records = batch.column(c["record"]).to_pylist() if c.get("record") else [None] * n
    o1 = batch.column(c["o1"]).to_pylist() if c.get("o1") else [0] * n
    o2 = batch.column(c["o2"]).to_pylist()
    if ctx.files:  # files Spark read (Parquet): the names and order the driver listed
        placed = [ctx.files.get(local_key(f), (None, f)) if f is not None else (None, None)
                  for f in files]
        files = [name for _, name in placed]
        o1 = [a if a is not None else b for (a, _), b in zip(placed, o1)]
    if ctx.mode == "json":
        limit, depth = options.max_event_bytes, options.max_event_depth
        for file, rec, a, b, text in zip(files, records, o1, o2,
                                         batch.column(c["event"]).to_pylist()):
            if text is None:
                yield Problem(file, rec, "the event column is null", lost=1), a, b
                continue
            raw = text.encode("utf-8") if text.__class__ is str else text
            if len(raw) > limit:
                err = size_error(len(raw), limit)
                yield Problem(file, rec, err.message, lost=1, limit=err.limit), a, b
                continue
            value = decode(raw, depth)
            if value.__class__ is EventError:
                yield Problem(file, rec, value.message, lost=1, limit=value.limit), a, b
            else:
                yield event_item(file, rec, value), a, b
        return
    drop = {c.get("file"), c.get("record"), c.get("o1"), c["o2"]}
    names = [x for x in batch.schema.names if x not in drop]
    rows = batch.select(names).to_pylist()
    for file, rec, a, b, row in zip(files, records, o1, o2, rows):
        yield Record(file, rec, _normal(row)), a, b


def match_batches(batches: Iterable[pa.RecordBatch], ctx: Context) -> Iterator[pa.RecordBatch]:
    """The events stage: every item matched against every shipped ruleset."""
    from sigcc.correlation.time import event_time
    from sigcc.correlation.options import CorrelationOptions

    sets = rulesets(ctx.sources, ctx.key, ctx.switches)
    routes = _routes(ctx, sets)
    copts = CorrelationOptions(timestamp_field=ctx.timestamp_field, lateness=float("inf"))
    out = _Out()
    events = 0
    for batch in batches:
        for item, o1, o2 in _items(batch, ctx):
            if isinstance(item, Problem):
                out.row(kind="problem", file=item.file, record=_record(item.record),
                        message=item.message, count=item.lost, o1=o1, o2=o2)
            else:
                events += 1
                _match_one(item, o1, o2, sets, routes, copts, event_time, out)
            if out.full():
                yield out.batch()
    out.row(kind="_stats", count=events)
    yield out.batch()


def _routes(ctx, sets) -> Routes:
    r = _ROUTES.get((ctx.key, ctx.switches))
    if r is None:
        r = _ROUTES[(ctx.key, ctx.switches)] = Routes(sets)
    return r


_ROUTES: dict = {}


def _match_one(item: Record, o1, o2, sets, routes: Routes, copts, event_time, out: _Out) -> None:
    k = 0  # the match's place within the event, over all rulesets
    for i, rs in enumerate(sets):
        try:
            ev, lc, tc = rs.prepare(item.event)
        except ValueError as exc:  # a struct row nested past max_event_depth
            out.row(kind="problem", file=item.file, record=_record(item.record),
                    message=str(exc), count=1, o1=o1, o2=o2)
            return
        matches = rs.match_prepared(ev, lc, tc)
        if rs.errors:
            for err in rs.errors:
                out.row(kind="rule_error", rule_id=err.rule_id, file=item.file,
                        record=_record(item.record),
                        message=f"rule {err.rule_id} ({err.file}:{err.line}) raised {err.error}",
                        count=1, o1=o1, o2=o2)
            rs.errors.clear()
        wanted = routes.by_rule[i]
        for m in matches:
            k += 1
            go = wanted.get(m.rule_id)
            if go:
                t = event_time(ev, copts)
                for n, (cid, fields, group) in enumerate(go):
                    if t is None and n:  # counted once (no_time), as scan's one engine does
                        break
                    carried = {f: ev[f] for f in fields if f in ev}
                    out.row(kind="_corr", rule_id=m.rule_id, file=item.file,
                            record=_record(item.record), comp=cid,
                            pkey=partition_key(carried, group), t=t, o1=o1, o2=o2, o3=k,
                            fields=pickle.dumps(carried, protocol=5))
                if m.rule_id in routes.silent[i]:
                    continue  # fed to its correlations, not shown (generate: false)
            line = match_record(m, ev, file=item.file, record=item.record,
                                evtx_record=item.evtx_record)
            out.row(kind="match", rule_id=m.rule_id, title=m.title, level=m.level,
                    tags=line["tags"], searches=line["searches"], file=item.file,
                    record=_record(item.record), timestamp=_text(line["timestamp"]),
                    computer=_text(line["computer"]), evtx_record=item.evtx_record,
                    o1=o1, o2=o2, o3=k)


# --- the correlation stage ----------------------------------------------------------------

def correlate_batches(batches: Iterable[pa.RecordBatch], ctx: Context) -> Iterator[pa.RecordBatch]:
    """One group partition, sorted by (component, event time, input order): each component's
    inputs fed to its own Engine in that order, then flushed. The engine's clock is advanced
    to each new time first (nothing older follows in sorted input), so held matches stay
    few and the firings are those of one batch-mode engine over the whole input."""
    from sigcc.correlation.engine import Engine
    from sigcc.correlation.options import CorrelationOptions
    from sigcc.correlation.scan import REPORTED

    sets = rulesets(ctx.sources, ctx.key, ctx.switches)
    routes = _routes(ctx, sets)
    copts = CorrelationOptions(timestamp_field=ctx.timestamp_field, lateness=float("inf"))
    engines: dict[int, Engine] = {}
    last_t: dict[int, int] = {}
    out = _Out()

    def fired(cid, firings):
        silent = routes.silent[routes.comps[cid][0]]
        for f in firings:
            if f.rule_id in silent:
                continue
            out.row(kind="correlation", rule_id=f.rule_id, title=f.title, level=f.level,
                    timestamp=f.window_end, firing=dumps(f.to_dict()).decode(),
                    count=f.events_total)

    import pyarrow.compute as pc

    for batch in batches:
        is_corr = pc.fill_null(pc.equal(batch.column("kind"), "_corr"), False)
        rest = batch.filter(pc.invert(is_corr))
        if rest.num_rows:  # matches, problems, ... of the events stage pass through
            yield rest
        batch = batch.filter(is_corr)
        cols = batch.select(["comp", "rule_id", "t", "file", "record", "fields"]).to_pydict()
        for cid, rule, t, file, rec, fields in zip(*cols.values()):
            e = engines.get(cid)
            if e is None:
                e = engines[cid] = Engine(routes.comps[cid][1], copts)
            if t is not None and t != last_t.get(cid):
                fired(cid, e.advance(t))
                last_t[cid] = t
            fired(cid, e.feed(rule, pickle.loads(fields), t, (file, rec)))
            if out.full():
                yield out.batch()
    for cid, e in engines.items():
        fired(cid, e.flush())
        for key, words in REPORTED.items():
            n = e.counters.get(key, 0)
            if n:
                refs = e.samples.get("evicted" if key.startswith("evicted") else key, [])
                file, rec = refs[0] if refs and len(refs[0]) == 2 else (None, None)
                out.row(kind="problem", file=file, record=_record(rec), count=n,
                        message=f"correlations: {n} {words}" + (
                            f" (e.g. {file} record {rec})" if refs else ""))
    yield out.batch()
