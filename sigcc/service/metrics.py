"""Prometheus metrics and health, served on the service's own asyncio loop.

    sigcc_events_total                 input messages handled and acknowledged (DLQ'd ones too)
    sigcc_matches_total{rule_id,level} matches and correlation firings published
    sigcc_dlq_total{reason}            messages sent to the dead-letter queue
    sigcc_batch_seconds                one batch from fetched to acknowledged (histogram)
    sigcc_in_flight                    messages fetched and not yet acknowledged
    sigcc_rule_errors_total{rule_id}   a rule raising on an event
    sigcc_reloads_total{result}        rule reloads: ok, failed
    sigcc_consumer_pending             messages the consumer has not delivered yet (JetStream,
                                       polled every second)
    sigcc_publish_retries_total        publish attempts repeated (output unavailable)

GET /metrics (Prometheus text), /healthz (200 while the loop runs), /readyz (200 when the
rules are loaded, the input is bound and the output takes messages; else 503 and why).
Each instance has its own registry: nothing global, several services in one process work."""
from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest


class Metrics:
    def __init__(self):
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter("sigcc_events", "input messages handled and acknowledged", registry=r)
        self.matches = Counter("sigcc_matches", "matches and firings published",
                               ("rule_id", "level"), registry=r)
        self.dlq = Counter("sigcc_dlq", "messages sent to the dead-letter queue", ("reason",),
                           registry=r)
        self.batch_seconds = Histogram(
            "sigcc_batch_seconds", "one batch from fetched to acknowledged", registry=r,
            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
        self.in_flight = Gauge("sigcc_in_flight", "messages fetched and not yet acknowledged",
                               registry=r)
        self.rule_errors = Counter("sigcc_rule_errors", "a rule raising on an event",
                                   ("rule_id",), registry=r)
        self.reloads = Counter("sigcc_reloads", "rule reloads", ("result",), registry=r)
        self.pending = Gauge("sigcc_consumer_pending",
                             "messages the consumer has not delivered yet", registry=r)
        self.retries = Counter("sigcc_publish_retries", "publish attempts repeated", registry=r)
        for result in ("ok", "failed"):
            self.reloads.labels(result)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class HealthServer:
    """A minimal HTTP/1.0 server for the three paths; `ready()` says whether and why not."""

    def __init__(self, metrics: Metrics, ready, host: str, port: int):
        self._metrics, self._ready = metrics, ready
        self._host, self._port = host, port
        self._server: asyncio.base_events.Server | None = None

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader, writer) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            parts = head.split(b" ", 2)
            path = parts[1].split(b"?")[0] if len(parts) > 1 else b""
            if path == b"/metrics":
                status, ctype, body = 200, CONTENT_TYPE_LATEST, self._metrics.text()
            elif path == b"/healthz":
                status, ctype, body = 200, "text/plain", b"ok\n"
            elif path == b"/readyz":
                why = self._ready()
                status, ctype = (200, "text/plain") if why is None else (503, "text/plain")
                body = b"ready\n" if why is None else why.encode() + b"\n"
            else:
                status, ctype, body = 404, "text/plain", b"not found: /metrics, /healthz, /readyz\n"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(f"HTTP/1.0 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            pass
        finally:
            writer.close()
