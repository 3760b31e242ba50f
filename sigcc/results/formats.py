"""The match writers of `sigcc scan --format`: jsonl (default), csv, table, timeline.

    w = writer("csv", stream, fields=("CommandLine",), event=False)
    w.match(line, time_us)     # line: runtime/output.py match_record(...); time_us: event time
    w.firing(firing)           # a correlation firing (sigcc.correlation.Firing)
    w.close()

jsonl     one JSON object per match (match_record's keys) and per correlation firing
          (Firing.to_dict), written as they come.
csv       one header, then one row per match or firing, as they come. The columns are fixed
          (CSV_COLUMNS), then one per `--fields` name (a name that is already a column gets
          the prefix `field:`), then `event` (the event as JSON) with `--event`.
          Lists (tags, tactics, techniques, searches) are joined with " | "; details are
          "Field: value ¦ Field: value" (DETAILS_SEPARATOR); an absent value is empty.
          A firing's row has its window end as time, its group and value as details.
timeline  CSV of TIMELINE_COLUMNS (hayabusa-style), sorted by event time across all inputs,
          then by input order; matches without a usable time come last, in input order. It
          holds every row in memory until the end of the scan (about 1 kB per match).
table     a rich table on the terminal (or -o FILE, without colours): time, computer,
          channel, event id, level, rule, details; held until the end like the timeline.
          Every cell is a rich Text, never markup: `[red]` in a value prints as written;
          control characters (an ESC that would drive the terminal, line breaks) are shown
          escaped (`\x1b`, `\n`).

Time cells are ISO 8601 UTC with microseconds (`2019-04-30T19:27:02.847284Z`) when the event
time parses (sigcc/correlation/time.py), else the event's timestamp text as it is.
"""
from __future__ import annotations

import csv
import io

from sigcc.correlation.time import iso_utc, parse_time
from sigcc.results.details import shown
from sigcc.runtime.output import dumps

__all__ = ["FORMATS", "CSV_COLUMNS", "TIMELINE_COLUMNS", "DETAILS_SEPARATOR", "writer",
           "details_text"]

FORMATS = ("jsonl", "csv", "table", "timeline")
CSV_COLUMNS = ("time", "computer", "channel", "event_id", "level", "rule_id", "title",
               "tactics", "techniques", "details", "searches", "tags", "file", "record",
               "evtx_record", "rule_file", "rule_line")
TIMELINE_COLUMNS = ("time", "computer", "channel", "event_id", "level", "rule_title",
                    "details", "file", "record")
DETAILS_SEPARATOR = " ¦ "


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return " | ".join(_cell(x) for x in v)
    if isinstance(v, dict):
        return dumps(v).decode()
    return str(v)


def details_text(details: dict) -> str:
    return DETAILS_SEPARATOR.join(f"{k}: {_cell(v) if v is not None else 'null'}"
                                  for k, v in details.items())


def _time_cell(line: dict, time_us) -> str:
    if time_us is not None:
        return iso_utc(time_us)
    return line.get("timestamp") or ""


def _match_row(line: dict, time_us) -> dict:
    return {
        "time": _time_cell(line, time_us), "computer": line.get("computer"),
        "channel": line.get("channel"), "event_id": line.get("event_id"),
        "level": line.get("level"), "rule_id": line.get("rule_id"), "title": line.get("title"),
        "rule_title": line.get("title"),
        "tactics": line.get("tactics", ()), "techniques": line.get("techniques", ()),
        "details": details_text(line.get("details") or {}), "searches": line.get("searches"),
        "tags": line.get("tags"), "file": line.get("file"), "record": line.get("record"),
        "evtx_record": line.get("evtx_record"), "rule_file": line.get("rule_file"),
        "rule_line": line.get("rule_line"),
    }


def _firing_row(f) -> dict:
    d = f.to_dict()
    parts = {**d["group"], d["correlation_type"]: d["value"], "events": d["events_total"],
             "window_start": d["window_start"]}
    return {"time": d["window_end"], "level": d["level"], "rule_id": d["rule_id"],
            "title": d["title"], "rule_title": d["title"],
            "details": details_text({k: shown(v) for k, v in parts.items()})}


class _Jsonl:
    def __init__(self, stream, **_):
        self.out = stream  # binary

    def match(self, line: dict, time_us) -> None:
        self.out.write(dumps(line) + b"\n")

    def firing(self, f) -> None:
        self.out.write(dumps(f.to_dict()) + b"\n")

    def close(self) -> None:
        self.out.flush()


class _Csv:
    columns = CSV_COLUMNS

    def __init__(self, stream, fields=(), event=False, **_):
        self.out = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
        self.fields = tuple(fields)
        self.event = event
        extra = [f"field:{f}" if f in self.columns or f == "event" else f for f in self.fields]
        self.header = list(self.columns) + extra + (["event"] if event else [])
        self.csv = csv.writer(self.out)
        self.started = False

    def _row(self, row: dict, line: dict | None) -> list[str]:
        cells = [_cell(row.get(c)) for c in self.columns]
        got = (line or {}).get("fields") or {}
        cells += [_cell(shown(got.get(f))) if f in got else "" for f in self.fields]
        if self.event:
            cells.append(_cell((line or {}).get("event")) if line else "")
        return cells

    def _write(self, cells: list[str]) -> None:
        if not self.started:
            self.csv.writerow(self.header)
            self.started = True
        self.csv.writerow(cells)

    def match(self, line: dict, time_us) -> None:
        self._write(self._row(_match_row(line, time_us), line))

    def firing(self, f) -> None:
        self._write(self._row(_firing_row(f), None))

    def close(self) -> None:
        if not self.started:  # a scan without matches still says what the columns are
            self.csv.writerow(self.header)
            self.started = True
        self.out.flush()
        self.out.detach()


class _Timeline(_Csv):
    columns = TIMELINE_COLUMNS

    def __init__(self, stream, **kw):
        super().__init__(stream, **kw)
        self.rows: list = []

    def match(self, line: dict, time_us) -> None:
        self.rows.append((time_us is None, time_us or 0, len(self.rows),
                          self._row(_match_row(line, time_us), line)))

    def firing(self, f) -> None:
        self.rows.append((False, f.end_us, len(self.rows), self._row(_firing_row(f), None)))

    def close(self) -> None:
        self.rows.sort(key=lambda r: r[:3])
        for *_, cells in self.rows:
            self._write(cells)
        self.rows = []
        super().close()


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7f, 0xa0))}
_CONTROL.update({0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t"})


def _printable(text: str) -> str:
    return text.translate(_CONTROL)


class _Table:
    columns = ("time", "computer", "channel", "event_id", "level", "title", "details")

    def __init__(self, stream, fields=(), terminal=False, **_):
        self.stream = stream
        self.terminal = terminal
        self.fields = tuple(fields)
        self.rows: list = []

    def match(self, line: dict, time_us) -> None:
        row = _match_row(line, time_us)
        got = line.get("fields") or {}
        self.rows.append([_cell(row.get(c)) for c in self.columns]
                         + [_cell(shown(got.get(f))) for f in self.fields])

    def firing(self, f) -> None:
        row = _firing_row(f)
        self.rows.append([_cell(row.get(c)) for c in self.columns] + ["" for _ in self.fields])

    def close(self) -> None:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        text = io.TextIOWrapper(self.stream, encoding="utf-8", write_through=True)
        console = Console(file=text, highlight=False, markup=False, emoji=False,
                          force_terminal=self.terminal or None,
                          no_color=not self.terminal, width=None if self.terminal else 200)
        t = Table(show_lines=False)
        for c in self.columns + self.fields:
            t.add_column(Text(c.replace("_", " ")), overflow="fold")
        for cells in self.rows:
            t.add_row(*(Text(_printable(c)) for c in cells))
        console.print(t)
        console.print(Text(f"{len(self.rows):,} matches"))
        text.flush()
        text.detach()


def writer(fmt: str, stream, *, fields=(), event: bool = False, terminal: bool = False):
    """The writer of `fmt` over a binary stream."""
    kinds = {"jsonl": _Jsonl, "csv": _Csv, "timeline": _Timeline, "table": _Table}
    if fmt not in kinds:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return kinds[fmt](stream, fields=fields, event=event, terminal=terminal)


def time_of(line: dict):
    """The event time of a match line, in microseconds (None: no usable time)."""
    return parse_time(line.get("timestamp"))
