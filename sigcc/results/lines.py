"""One match as the line `sigcc scan` writes (and `sigcc serve` publishes): the match
record with the event's channel and id, the details of its fired searches and the rule's
documentation. One function for both commands, so their lines cannot drift apart."""
from __future__ import annotations

from sigcc.results.details import RuleDocs, details
from sigcc.runtime.output import DEFAULT_NAMES, match_record


def match_line(m, ev: dict, docs: RuleDocs, *, file, record, evtx_record=None,
               collapse: bool = False, fields=None, event=None,
               names=DEFAULT_NAMES) -> tuple[dict, str | None]:
    """(the line, a problem with the rule's documentation to say once, or None)."""
    doc = docs.get(m.rule)
    line = match_record(m, ev, file=file, record=record, evtx_record=evtx_record,
                        details=details(doc.ir, m.searches, ev, collapse, tests=docs.tests),
                        doc=doc, fields=fields, event=event, names=names)
    return line, doc.problem
