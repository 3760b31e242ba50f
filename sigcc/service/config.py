"""The one configuration object of `sigcc serve`: frozen, built once from the command line
(or by a caller of `sigcc.service.serve`), passed down to every part of the service."""
from __future__ import annotations

from dataclasses import dataclass, field

from sigcc.correlation import CorrelationOptions
from sigcc.options import Options


@dataclass(frozen=True)
class ServeConfig:
    """How one `sigcc serve` instance runs.

    rules            rule files/directories and modules built by `sigcc build` (--rules)
    options          how rules are interpreted and the event limits (max_event_bytes,
                     max_event_depth: a message over one goes to the DLQ)
    nats             server URL; None: NDJSON on stdin, matches on stdout
    input_stream, input_subject, consumer, output_subject, dlq_subject
                     JetStream names (required with `nats`)
    batch            messages fetched, matched, published and acked together
    max_in_flight    most messages fetched and not yet acknowledged (all batches together)
    state            correlation state file: restored at start, saved every
                     `state_interval` seconds and at shutdown
    metrics          (host, port) of the /metrics, /healthz and /readyz server, or None
    correlation      event-time field and lateness for correlation windows
    watch_interval   seconds between looks at the rule files' mtimes (0: only SIGHUP reloads)
    fetch_timeout    longest wait of one fetch for messages (also how soon a stop is seen)
    publish_timeout  longest wait for JetStream to acknowledge one batch's publishes, after
                     which they are sent again (same Nats-Msg-Id: no duplicate)
    retry_max        longest pause between publish attempts while the output is unavailable
    shutdown_timeout longest wait at shutdown for in-flight batches to be published and acked;
                     after it the rest stay unacknowledged and JetStream redelivers them
    ack_wait         the consumer's ack wait when this instance creates the consumer
    connect_timeout  longest wait for the first connection to the server
    """

    rules: tuple[str, ...]
    options: Options = field(default_factory=Options)
    nats: str | None = None
    input_stream: str | None = None
    input_subject: str | None = None
    consumer: str | None = None
    output_subject: str | None = None
    dlq_subject: str | None = None
    batch: int = 100
    max_in_flight: int = 1000
    state: str | None = None
    metrics: tuple[str, int] | None = None
    correlation: CorrelationOptions = field(default_factory=CorrelationOptions)
    watch_interval: float = 1.0
    fetch_timeout: float = 0.5
    publish_timeout: float = 5.0
    retry_max: float = 2.0
    shutdown_timeout: float = 10.0
    ack_wait: float = 30.0
    state_interval: float = 30.0
    connect_timeout: float = 5.0

    def __post_init__(self) -> None:
        if not self.rules:
            raise ValueError("--rules: give at least one rule file, directory or module")
        if self.batch < 1:
            raise ValueError(f"--batch must be >= 1, got {self.batch}")
        if self.max_in_flight < 1:
            raise ValueError(f"--max-in-flight must be >= 1, got {self.max_in_flight}")
        if self.nats is not None:
            names = {"--input-stream": self.input_stream, "--input-subject": self.input_subject,
                     "--consumer": self.consumer, "--output-subject": self.output_subject,
                     "--dlq-subject": self.dlq_subject}
            missing = [flag for flag, value in names.items() if not value]
            if missing:
                raise ValueError(f"--nats needs {', '.join(missing)} too")
            for flag, value in names.items():
                if any(c in value for c in " \t\r\n"):
                    raise ValueError(f"{flag} {value!r}: NATS names hold no whitespace")
            if self.output_subject == self.input_subject or self.dlq_subject == self.input_subject:
                raise ValueError("--output-subject and --dlq-subject must differ from "
                                 "--input-subject (matches would be read back as events)")

    @property
    def stdio(self) -> bool:
        return self.nats is None
