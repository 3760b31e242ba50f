"""What flows through the service: input messages, things to publish, dead letters.

A `Source` yields `InMessage`s; the batch loop turns them into `Outgoing` items (matches,
correlation firings, dead letters) which a `Sink` publishes; then the input is acked."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# dead-letter reasons (the `Sigcc-Reason` header and the label of sigcc_dlq_total)
NOT_JSON = "not_json"          # not valid JSON (or not UTF-8)
NOT_OBJECT = "not_object"      # valid JSON, but not an object
TOO_LARGE = "too_large"        # over Options.max_event_bytes
TOO_DEEP = "too_deep"          # nested deeper than Options.max_event_depth
RULE_ERROR = "rule_error"      # a rule raised on this event (header Sigcc-Rule-Id names it)
REASONS = (NOT_JSON, NOT_OBJECT, TOO_LARGE, TOO_DEEP, RULE_ERROR)

# headers of a dead letter
H_REASON, H_DETAIL, H_RULE = "Sigcc-Reason", "Sigcc-Detail", "Sigcc-Rule-Id"
H_SUBJECT, H_SEQUENCE, H_MSG_ID = "Sigcc-Input-Subject", "Sigcc-Input-Sequence", "Nats-Msg-Id"


@dataclass(slots=True)
class InMessage:
    """One input message: its payload, its sequence (the stream sequence in JetStream, the
    line number on stdin), where it came from, and how to acknowledge it."""

    data: bytes
    seq: int
    file: str                      # the stream name, or "<stdin>"
    subject: str | None = None     # the message's subject (JetStream only)
    reply: str | None = None       # JetStream: its ack subject (Source.ack/in_progress use it)
    oversize: int | None = None    # stdin: a line longer than the limit (its size; not read)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish: a match or firing (`dead` False) or a dead letter."""

    payload: bytes
    msg_id: str
    headers: dict[str, str] | None = None
    dead: bool = False
    # for the metrics, counted once the publish is acknowledged
    rule_id: str | None = None
    level: str | None = None
    reason: str | None = None


class Source(Protocol):
    name: str

    async def start(self) -> None: ...
    async def fetch(self, n: int, timeout: float) -> list[InMessage] | None:
        """Up to n messages ([] when none came in `timeout`); None: the input has ended."""
    async def ack(self, msgs: list[InMessage]) -> None:
        """Acknowledge the messages (never raises: one not acked is redelivered)."""
    async def in_progress(self, msgs: list[InMessage]) -> None:
        """Tell the server the messages are still being worked on (no redelivery yet)."""
    async def pending(self) -> int | None: ...
    async def close(self) -> None: ...


class Sink(Protocol):
    ordered: bool  # True: batches must be completed one after another, in order

    async def start(self) -> None: ...
    async def publish(self, items: list[Outgoing]) -> None:
        """Publish all items, returning once every one is acknowledged; raise
        SinkUnavailable when that cannot be done now (the caller retries)."""
    async def close(self) -> None: ...


class SinkUnavailable(Exception):
    """The output cannot take messages now (no stream, server down, timeout)."""


class ServeError(Exception):
    """A configuration or environment problem that stops the service at start (one line)."""


def sanitize_header(value: Any, limit: int = 512) -> str:
    """A header value: one line, bounded (NATS headers cannot hold line breaks)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
