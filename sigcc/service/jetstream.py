"""NATS JetStream: the connection, the input (a durable pull consumer shared by every
instance started with the same --consumer) and the output (matches to --output-subject,
dead letters to --dlq-subject, each publish acknowledged by JetStream).

The client reconnects by itself, forever; every disconnect, reconnect and error is a log
line. A fetch that fails while the server is away returns no messages (the loop tries
again); a publish that is not acknowledged in time raises SinkUnavailable and is sent
again by the loop with the same Nats-Msg-Id, so JetStream stores each match once."""
from __future__ import annotations

import asyncio

import nats
import nats.errors
import nats.js.errors
from nats.js import api

from sigcc.service.messages import InMessage, Outgoing, ServeError, SinkUnavailable

# what a fetch or publish may raise while the server restarts or the network is away
TRANSIENT = (nats.errors.Error, nats.js.errors.Error, OSError, asyncio.TimeoutError)


async def connect(url: str, log, timeout: float = 5.0):
    client = []

    async def disconnected():
        if client and (client[0].is_draining or client[0].is_closed):
            return  # our own close at the end, not news
        log("disconnect", server=url)

    async def reconnected():
        log("reconnect", server=url)

    last_error = []

    async def error(exc):
        if not client:  # still trying the first connection: said once, if it fails
            last_error[:] = [f"{type(exc).__name__}: {exc}"]
            return
        log("nats_error", error=f"{type(exc).__name__}: {exc}")

    try:  # (reconnecting forever applies to the first connection too: bounded here)
        nc = await asyncio.wait_for(nats.connect(
            url, name="sigcc-serve", max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            connect_timeout=timeout, allow_reconnect=True, disconnected_cb=disconnected,
            reconnected_cb=reconnected, error_cb=error), timeout)
    except (nats.errors.Error, OSError, asyncio.TimeoutError) as exc:
        why = (last_error[0] if last_error else str(exc) or "no answer") + f" (for {timeout:g}s)"
        raise ServeError(f"--nats {url}: cannot connect: {why}") from None
    client.append(nc)
    return nc


class JetStreamSource:
    def __init__(self, nc, config, log):
        self._nc, self._js = nc, nc.jetstream()
        self.name = config.input_stream
        self._config, self._log = config, log
        self._puller = None
        self.ack_wait = config.ack_wait  # the consumer's, once bound

    async def start(self) -> None:
        c = self._config
        try:
            await self._js.stream_info(c.input_stream)
        except nats.js.errors.NotFoundError:
            raise ServeError(f"--input-stream {c.input_stream}: no such stream; create it "
                             f"(e.g. `nats stream add {c.input_stream} --subjects "
                             f"'{c.input_subject}'`)") from None
        try:
            info = await self._js.consumer_info(c.input_stream, c.consumer)
            filt = info.config.filter_subject
            self.ack_wait = info.config.ack_wait or self.ack_wait
            if filt and filt != c.input_subject:
                raise ServeError(f"--consumer {c.consumer}: exists on stream {c.input_stream} "
                                 f"with filter subject {filt!r}, not {c.input_subject!r}")
        except nats.js.errors.NotFoundError:
            cfg = api.ConsumerConfig(
                durable_name=c.consumer, filter_subject=c.input_subject,
                ack_policy=api.AckPolicy.EXPLICIT, deliver_policy=api.DeliverPolicy.ALL,
                ack_wait=c.ack_wait, max_ack_pending=max(1000, 4 * c.max_in_flight),
                max_deliver=-1)
            try:  # instances starting together create the same config: JetStream accepts both
                await self._js.add_consumer(c.input_stream, config=cfg)
            except nats.js.errors.BadRequestError as exc:
                raise ServeError(f"--consumer {c.consumer}: cannot create it: {exc}") from None
            self._log("consumer_created", stream=c.input_stream, consumer=c.consumer,
                      subject=c.input_subject)
        self._puller = Puller(self._nc, c.input_stream, c.consumer)
        await self._puller.start()

    async def fetch(self, n: int, timeout: float) -> list[InMessage]:
        try:
            msgs = await self._puller.fetch(n, timeout)
        except TRANSIENT as exc:
            self._log("fetch_error", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(min(timeout, 0.5))
            return []
        stream = self.name
        return [InMessage(m.data, m.metadata.sequence.stream, stream, m.subject, m.ack,
                          m.in_progress) for m in msgs]

    async def pending(self) -> int | None:
        try:
            info = await self._js.consumer_info(self._config.input_stream, self._config.consumer)
        except TRANSIENT:
            return None
        return info.num_pending

    async def close(self) -> None:
        if self._puller is not None:
            await self._puller.close()


class Puller:
    """Pull requests to a consumer, answered on one inbox: each asks for at most the free
    in-flight slots, with no_wait, so the server sends what it has at once (then a status
    when it had fewer) and nothing arrives later than the request's own answer. While the
    stream is idle, requests are repeated after 10 ms doubling to 100 ms (the latency at a
    low rate). Messages are taken from the inbox by a callback in the order they arrive —
    one list append each, where the client's own fetch creates two tasks per message."""

    API = "$JS.API.CONSUMER.MSG.NEXT.{}.{}"

    def __init__(self, nc, stream: str, consumer: str):
        self._nc = nc
        self._subject = self.API.format(stream, consumer)
        self._inbox = nc.new_inbox()
        self._got: list = []
        self._answered = asyncio.Event()
        self._want = 0
        self._idle = 0.01
        self._sub = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._arrived)

    async def _arrived(self, msg) -> None:
        status = msg.headers.get(api.Header.STATUS) if msg.headers else None
        if status is None:
            self._got.append(msg)
            if len(self._got) >= self._want:
                self._answered.set()
        elif status != "100":  # 404 no messages, 408 expired, 409 ...: the answer is complete
            self._answered.set()

    async def fetch(self, n: int, timeout: float) -> list:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self._got:
                out, self._got = self._got[:n], self._got[n:]
                return out
            self._want = n
            self._answered.clear()
            await self._nc.publish(self._subject, b'{"batch":%d,"no_wait":true}' % n,
                                   reply=self._inbox)
            left = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(self._answered.wait(), max(left, 0.001))
            except asyncio.TimeoutError:  # no answer (the server is away): try again later
                return self._take(n)
            if self._got:
                self._idle = 0.01
                return self._take(n)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return []
            await asyncio.sleep(min(self._idle, left))
            self._idle = min(self._idle * 2, 0.1)

    def _take(self, n: int) -> list:
        out, self._got = self._got[:n], self._got[n:]
        return out

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except TRANSIENT:
                pass


class JetStreamSink:
    ordered = False

    def __init__(self, nc, config, log):
        self._nc, self._js = nc, nc.jetstream()
        self._config, self._log = config, log

    async def start(self) -> None:
        for flag, subject in (("--output-subject", self._config.output_subject),
                              ("--dlq-subject", self._config.dlq_subject)):
            try:
                await self._js.find_stream_name_by_subject(subject)
            except nats.js.errors.NotFoundError:
                self._log("warning", message=f"{flag} {subject}: no stream captures it yet; "
                          "matches wait (unacknowledged, bounded by --max-in-flight) until one does")
            except TRANSIENT:
                pass

    async def publish(self, items: list[Outgoing]) -> None:
        if not items:
            return
        c = self._config
        futures = []
        try:
            for item in items:
                futures.append(await self._js.publish_async(
                    c.dlq_subject if item.dead else c.output_subject, item.payload,
                    headers=dict(item.headers), wait_stall=c.publish_timeout))
            done, pending = await asyncio.wait(futures, timeout=c.publish_timeout)
        except TRANSIENT as exc:
            for f in futures:
                f.cancel()
            raise SinkUnavailable(f"{type(exc).__name__}: {exc}") from None
        for f in pending:  # never acknowledged: cancel, so the client's pending slots free up
            f.cancel()
        if pending:
            raise SinkUnavailable(f"{len(pending)} of {len(items)} publishes not acknowledged "
                                  f"within {c.publish_timeout:g}s")
        errors = [f.exception() for f in done if f.exception() is not None]
        if errors:
            e = errors[0]
            no_stream = isinstance(e, nats.js.errors.NoStreamResponseError)
            what = ("no stream captures the subject" if no_stream
                    else f"{type(e).__name__}: {e}")
            raise SinkUnavailable(f"{len(errors)} of {len(items)} publishes failed: {what}")

    async def close(self) -> None:
        pass
