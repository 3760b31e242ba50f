"""Events in, things to publish out: the matching of one batch, synchronous (it is the work).

For each event, what `sigcc scan` does: every ruleset prepares and matches it; matches of
rules a correlation refers to are fed to it (firings are published like matches; base
matches of `generate: false` correlations are not shown); every other match is published
as the line scan writes (results.lines.match_line: details and rule documentation
included), plus `input_subject` in JetStream mode. A rule that raised on
the event sends the event to the dead-letter queue too (reason rule_error, the rule id in
a header), once per rule; the matches of the other rules are still published.

Nats-Msg-Id of a match: "<stream>:<seq>:<rule id>", of a firing "<stream>:<seq>:<rule
id>:<n>" (the n-th firing of that correlation released by this message), of a dead letter
"<stream>:<seq>:dlq:<reason>[:<rule id>]": a redelivered message publishes the same ids, and
JetStream drops the copies inside its duplicate window."""
from __future__ import annotations

from sigcc.results.lines import match_line
from sigcc.runtime.output import dumps
from sigcc.service.decode import Rejected, decode_event
from sigcc.service.messages import (H_DETAIL, H_MSG_ID, H_REASON, H_RULE, H_SEQUENCE, H_SUBJECT,
                                    RULE_ERROR, InMessage, Outgoing, sanitize_header)


class Detector:
    def __init__(self, rules, correlations, options, *, with_subject: bool):
        self.rules = rules                  # service.rules.Rules
        self.corr = correlations            # ScanCorrelations (may be inactive)
        self.options = options
        self.with_subject = with_subject
        self.rule_errors: list[tuple[str, str]] = []   # (rule id, error) since last drained
        self.doc_problems: list[str] = []  # a rule's documentation unreadable: said once each
        self._said: set[str] = set()

    def swap(self, rules, correlations) -> None:
        """Between batches only (the loop calls it there): the next event sees the new rules."""
        self.rules, self.corr = rules, correlations

    def batch(self, msgs: list[InMessage]) -> list[list[Outgoing]]:
        """Per message, what to publish for it (before it may be acked)."""
        return [self.one(m) for m in msgs]

    def one(self, msg: InMessage) -> list[Outgoing]:
        event = decode_event(msg.data, self.options, msg.oversize)
        if isinstance(event, Rejected):
            return [self._dead(msg, event.reason, event.detail)]
        out: list[Outgoing] = []
        corr = self.corr
        docs = self.rules.docs
        collapse = self.options.collapse_whitespace
        for k, rs in enumerate(self.rules.sets):
            before = len(rs.errors)
            ev, lc, tc = rs.prepare(event)
            for m in rs.match_prepared(ev, lc, tc):
                if corr.active and corr.concerns(k, m.rule_id):
                    self.firings(corr.feed(k, m, ev, (msg.file, msg.seq)), msg, out)
                    if corr.silent(k, m.rule_id):
                        continue
                line, problem = match_line(m, ev, docs[k], file=msg.file, record=msg.seq,
                                           collapse=collapse)
                if problem and problem not in self._said:
                    self._said.add(problem)
                    self.doc_problems.append(problem)
                if self.with_subject:
                    line["input_subject"] = msg.subject
                out.append(Outgoing(dumps(line), f"{msg.file}:{msg.seq}:{m.rule_id}",
                                    {H_MSG_ID: f"{msg.file}:{msg.seq}:{m.rule_id}"},
                                    rule_id=m.rule_id, level=m.level))
            if len(rs.errors) > before:
                errors = rs.errors[before:]
                del rs.errors[before:]  # drained here: a long-running service keeps none
                seen = set()
                for err in errors:
                    self.rule_errors.append((err.rule_id, err.error))
                    if err.rule_id not in seen:
                        seen.add(err.rule_id)
                        out.append(self._dead(msg, RULE_ERROR, f"rule {err.rule_id} "
                                              f"({err.file}:{err.line}) raised {err.error}",
                                              err.rule_id))
        return out

    def finish(self, msg_file: str, tag: str = "end") -> list[Outgoing]:
        """The end of the input (or of the service): the correlations' last firings, or
        their state saved (--state). `tag` makes their Nats-Msg-Ids unique to this stop."""
        if not self.corr.active:
            return []
        out: list[Outgoing] = []
        end = InMessage(b"", 0, msg_file, None)
        self.firings(self.corr.finish(), end, out, tag=tag)
        return out

    def firings(self, firings, msg: InMessage, out: list[Outgoing], tag: str = "") -> None:
        """Firings as things to publish (ids: see the module docstring), appended to out."""
        counts: dict[str, int] = {}
        for f in firings:
            n = counts[f.rule_id] = counts.get(f.rule_id, 0) + 1
            line = f.to_dict()
            if self.with_subject and msg.subject is not None:
                line["input_subject"] = msg.subject
            mid = f"{msg.file}:{msg.seq}:{f.rule_id}:{tag}{n}"
            out.append(Outgoing(dumps(line), mid, {H_MSG_ID: mid},
                                rule_id=f.rule_id, level=f.level))

    def _dead(self, msg: InMessage, reason: str, detail: str, rule_id: str | None = None) -> Outgoing:
        mid = f"{msg.file}:{msg.seq}:dlq:{reason}" + (f":{rule_id}" if rule_id else "")
        headers = {H_MSG_ID: mid, H_REASON: reason, H_DETAIL: sanitize_header(detail),
                   H_SEQUENCE: str(msg.seq)}
        if msg.subject is not None:
            headers[H_SUBJECT] = msg.subject
        if rule_id is not None:
            headers[H_RULE] = rule_id
        return Outgoing(msg.data, mid, headers, dead=True, rule_id=rule_id, reason=reason)
