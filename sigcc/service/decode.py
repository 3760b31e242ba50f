"""A message's payload -> the event it holds, or why it goes to the dead-letter queue.

The limits are the readers' (`Options.max_event_bytes`, `max_event_depth`), and the JSON
is read by the one decoder every reader uses (`sigcc.runtime.json_text.decode`), so an
event that `sigcc scan` reads from a JSONL line is the same event here."""
from __future__ import annotations

from sigcc.options import Options
from sigcc.runtime.json_text import EventError, decode, size_error
from sigcc.service.messages import NOT_JSON, NOT_OBJECT, TOO_DEEP, TOO_LARGE


class Rejected:
    """Why a payload is not an event: a reason code (messages.REASONS) and the detail."""

    __slots__ = ("reason", "detail")

    def __init__(self, reason: str, detail: str):
        self.reason, self.detail = reason, detail

    def __repr__(self) -> str:
        return f"Rejected({self.reason!r}, {self.detail!r})"


def decode_event(data: bytes, options: Options, size: int | None = None) -> dict | Rejected:
    """`size`: the payload's real size when only part of it was read (a stdin line over
    the limit)."""
    limit = options.max_event_bytes
    if size is not None or len(data) > limit:
        return Rejected(TOO_LARGE, size_error(size or len(data), limit, "message").message)
    value = decode(data, options.max_event_depth)
    if value.__class__ is EventError:
        if value.limit == "max_event_depth":
            return Rejected(TOO_DEEP, value.message)
        return Rejected(NOT_JSON, value.message)
    if value.__class__ is not dict:
        return Rejected(NOT_OBJECT, f"not a JSON object but a {type(value).__name__}")
    return value
