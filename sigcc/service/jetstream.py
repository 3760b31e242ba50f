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
import orjson
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
        return [InMessage(m.data, stream_sequence(m.reply), stream, m.subject, m.reply)
                for m in msgs]

    async def ack(self, msgs: list[InMessage]) -> None:
        await self._reply(msgs, ACK, "ack_error")

    async def in_progress(self, msgs: list[InMessage]) -> None:
        await self._reply(msgs, IN_PROGRESS, None)

    async def _reply(self, msgs: list[InMessage], what: bytes, error: str | None) -> None:
        """One core publish per message to its ack subject (what Msg.ack does, without its
        checks and per-message bookkeeping); one that fails is redelivered later."""
        publish = self._nc.publish
        for m in msgs:
            try:
                await publish(m.reply, what)
            except Exception as exc:  # redelivered later; its matches are deduplicated
                if error is not None:
                    self._log(error, seq=m.seq, error=f"{type(exc).__name__}: {exc}")

    async def pending(self) -> int | None:
        try:
            info = await self._js.consumer_info(self._config.input_stream, self._config.consumer)
        except TRANSIENT:
            return None
        return info.num_pending

    async def close(self) -> None:
        if self._puller is not None:
            await self._puller.close()


ACK, IN_PROGRESS = b"+ACK", b"+WPI"


def stream_sequence(reply: str) -> int:
    """The stream sequence of a JetStream message, from its ack subject:
    $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>, or
    with a domain and account hash after ACK (12 tokens or more): the 6th or 8th token."""
    tokens = reply.split(".")
    if len(tokens) == 9:
        return int(tokens[5])
    return int(tokens[7])


class Puller:
    """Pull requests to a consumer, answered on one inbox: each asks for at most the free
    in-flight slots, with no_wait, so the server sends what it has at once (then a status
    when it had fewer) and nothing arrives later than the request's own answer. While the
    stream is idle, requests are repeated after 10 ms doubling to 100 ms (the latency at a
    low rate). Answers wait in the inbox subscription's own queue (no callback: a callback
    costs a task switch per message, and the client's own fetch two tasks per message) and are
    taken from it in bursts; the subscription's byte limit is off, as the requests bound what
    comes (never more than asked for)."""

    API = "$JS.API.CONSUMER.MSG.NEXT.{}.{}"

    def __init__(self, nc, stream: str, consumer: str):
        self._nc = nc
        self._subject = self.API.format(stream, consumer)
        self._inbox = nc.new_inbox()
        self._idle = 0.01
        self._sub = None
        self._queue: asyncio.Queue | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, pending_bytes_limit=0)
        self._queue = self._sub._pending_queue

    def _take(self, n: int, into: list, first=None) -> bool:
        """`first`, then the messages already in the inbox, into `into`, up to n in all:
        True once the answer is complete (n messages, or a status: 404 no messages, 408
        expired, 409 ...)."""
        q = self._queue
        msg = first
        while len(into) < n:
            if msg is None:
                if q.empty():
                    return False
                msg = q.get_nowait()
            status = msg.headers.get(api.Header.STATUS) if msg.headers else None
            msg, data = None, msg
            if status is None:
                into.append(data)
            elif status != "100":  # (100: a heartbeat)
                return True
        return True

    async def fetch(self, n: int, timeout: float) -> list:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        got: list = []
        if self._take(n, got) or got:  # late answers of an earlier request first
            return got
        while True:
            await self._nc.publish(self._subject, b'{"batch":%d,"no_wait":true}' % n,
                                   reply=self._inbox)
            complete = False
            while not complete:
                left = deadline - loop.time()
                try:  # one wait per burst of arrivals; what is there then is taken at once
                    first = await asyncio.wait_for(self._queue.get(), max(left, 0.001))
                except asyncio.TimeoutError:  # no (full) answer: the server is away or slow
                    return got
                complete = self._take(n, got, first)
            if got:
                self._idle = 0.01
                return got
            left = deadline - loop.time()
            if left <= 0:
                return []
            await asyncio.sleep(min(self._idle, left))
            self._idle = min(self._idle * 2, 0.1)

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except TRANSIENT:
                pass


class _Batch:
    """The publishes of one Sink.publish call: their answers (None: stored) and how many
    are still to come; `done` is set by the last."""

    __slots__ = ("answers", "left", "done")

    def __init__(self, n: int, done: asyncio.Future):
        self.answers: list[str | None] = [None] * n
        self.left, self.done = n, done


class JetStreamSink:
    """Each publish is a core publish whose reply subject is this sink's inbox plus a
    counter, answered by JetStream with its acknowledgement (the client's publish_async
    draws a random token and makes a future and a PubAck per message); the answers are
    read in bursts from the inbox subscription's queue by one task this sink owns (started
    in start, cancelled in close), and a publish call waits for one future for all its
    items. An answer that is not a stored acknowledgement (an error, or 503: no stream
    captures the subject) fails the call, which the loop repeats with the same Nats-Msg-Ids."""

    ordered = False

    def __init__(self, nc, config, log):
        self._nc, self._js = nc, nc.jetstream()
        self._config, self._log = config, log
        self._prefix = nc.new_inbox() + "."
        self._count = 0
        self._waiting: dict[str, tuple[_Batch, int]] = {}
        self._sub = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._prefix + "*", pending_bytes_limit=0)
        self._reader = asyncio.create_task(self._answers(self._sub._pending_queue),
                                           name="sigcc-serve-publish-acks")
        for flag, subject in (("--output-subject", self._config.output_subject),
                              ("--dlq-subject", self._config.dlq_subject)):
            try:
                await self._js.find_stream_name_by_subject(subject)
            except nats.js.errors.NotFoundError:
                self._log("warning", message=f"{flag} {subject}: no stream captures it yet; "
                          "matches wait (unacknowledged, bounded by --max-in-flight) until one does")
            except TRANSIENT:
                pass

    async def _answers(self, queue: asyncio.Queue) -> None:
        while True:
            self._safely(await queue.get())
            while not queue.empty():
                self._safely(queue.get_nowait())

    def _safely(self, msg) -> None:
        """One answer; one that cannot be read is logged, and the reader goes on (were it to
        end, every later publish would wait for its timeout and be repeated forever)."""
        try:
            self._answer(msg)
        except Exception as exc:  # (its publish times out and is repeated: never lost)
            self._log("publish_answer_error", subject=str(getattr(msg, "subject", ""))[:200],
                      error=f"{type(exc).__name__}: {exc}"[:300])

    def _answer(self, msg) -> None:
        waiting = self._waiting.pop(msg.subject, None)
        if waiting is None:  # an answer after its call gave up: that call is repeated
            return
        batch, k = waiting
        batch.answers[k] = _problem(msg)
        batch.left -= 1
        if not batch.left and not batch.done.done():
            batch.done.set_result(None)

    async def publish(self, items: list[Outgoing]) -> None:
        if not items:
            return
        c = self._config
        loop = asyncio.get_running_loop()
        batch = _Batch(len(items), loop.create_future())
        replies = []
        try:
            for k, item in enumerate(items):
                self._count += 1
                reply = f"{self._prefix}{self._count}"
                self._waiting[reply] = (batch, k)
                replies.append(reply)
                await self._nc.publish(c.dlq_subject if item.dead else c.output_subject,
                                       item.payload, reply=reply, headers=item.headers)
            await asyncio.wait_for(asyncio.shield(batch.done), c.publish_timeout)
        except asyncio.TimeoutError:
            raise SinkUnavailable(f"{batch.left} of {len(items)} publishes not acknowledged "
                                  f"within {c.publish_timeout:g}s") from None
        except TRANSIENT as exc:
            raise SinkUnavailable(f"{type(exc).__name__}: {exc}") from None
        finally:
            for reply in replies:  # (no-op for the answered ones)
                self._waiting.pop(reply, None)
        errors = [a for a in batch.answers if a is not None]
        if errors:
            raise SinkUnavailable(f"{len(errors)} of {len(items)} publishes failed: {errors[0]}")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except TRANSIENT:
                pass


def _problem(answer) -> str | None:
    """What is wrong with a publish's answer from JetStream; None: the message is stored
    (or was already: a duplicate inside the window)."""
    status = answer.headers.get(api.Header.STATUS) if answer.headers else None
    if status == "503":
        return "no stream captures the subject"
    if status is not None:
        return f"status {status} {answer.headers.get(api.Header.DESCRIPTION, '')}".rstrip()
    try:
        ack = orjson.loads(answer.data)
    except orjson.JSONDecodeError:
        return f"not an acknowledgement: {answer.data[:200]!r}"
    if not isinstance(ack, dict) or ("error" not in ack and "seq" not in ack):
        return f"not an acknowledgement: {answer.data[:200]!r}"
    err = ack.get("error")
    if err is not None:
        return (f"{err.get('description', 'error')} (code {err.get('err_code', err.get('code'))})"
                if isinstance(err, dict) else str(err))
    return None
