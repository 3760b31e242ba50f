"""The service: one asyncio loop, one batch loop (fetch -> match -> publish -> ack), and
the few background tasks it owns (rule watcher and rebuilder, consumer-pending poller,
state saver, health server), all created in `run` and cancelled at shutdown.

Delivery: a batch's messages are acknowledged only after every match, firing and dead
letter they produced is acknowledged by the sink; until then they count against
--max-in-flight, so a slow or absent output stops fetching (and the unacknowledged
messages are kept alive with in-progress acks). Matching is synchronous inside the loop
(it is the work); a fetcher task fills a queue of at most PREFETCH batches meanwhile, and
with JetStream the publishing and acking of a batch runs as a task while the next batch is
matched: up to --max-in-flight messages in all, wherever they are.

Reload: SIGHUP or a change of the rule files' fingerprint starts a rebuild in a worker
thread; a good rebuild is swapped in between two batches (each event sees one rule set,
old or new), a bad one is logged and counted and the running rules stay.

Stop: SIGTERM/SIGINT ends fetching; the batches in flight are published and acked (for at
most shutdown_timeout: what is left stays unacked and is redelivered), the correlation
state is saved (--state) or flushed, and run() returns 0."""
from __future__ import annotations

import asyncio
import signal
import time

from sigcc.correlation.scan import ScanCorrelations
from sigcc.correlation.snapshot import SnapshotError
from sigcc.service.detect import Detector
from sigcc.service.flow import InFlight
from sigcc.service.messages import InMessage, Outgoing, SinkUnavailable
from sigcc.service.metrics import HealthServer, Metrics
from sigcc.runtime.memory import resettle
from sigcc.service.rules import Rules, build_rules, check_rebuild, fingerprint

DLQ_PAYLOAD_LOGGED = 1000  # bytes of a dead letter's payload shown in its stdio-mode log line
PREFETCH = 2  # fetched batches waiting to be matched (their messages count as in flight)


class Service:
    def __init__(self, config, rules: Rules, source, sink, log, *, nc=None):
        self.config, self.log = config, log
        self.source, self.sink, self.nc = source, sink, nc
        self.metrics = Metrics()
        self._fetching = 0  # slots taken for the fetch under way (not messages yet)
        self.flight = InFlight(config.max_in_flight, self._in_flight_changed)
        self.rules = rules
        corr = ScanCorrelations(rules.sets, config.correlation, config.state)  # may raise StateError
        self.detector = Detector(rules, corr, config.options, with_subject=not config.stdio)
        self._stop = asyncio.Event()
        self._reload_wanted = asyncio.Event()
        self._next: tuple[Rules, str] | None = None  # a good rebuild waiting for the swap
        self._tasks: set[asyncio.Task] = set()       # background tasks, cancelled at stop
        self._completions: set[asyncio.Task] = set()  # batches being published and acked
        self._output_problem: str | None = None
        self._started = False
        self.dead_letters = 0
        self.events = 0
        self.batches = 0  # (events / batches: how full the fetches came back)
        self.health: HealthServer | None = None

    # --- control ----------------------------------------------------------------------------

    def stop(self, why: str = "requested") -> None:
        if not self._stop.is_set():
            self.log("stopping", why=why)
            self._stop.set()

    def request_reload(self, why: str) -> None:
        self.log("reload_requested", why=why)
        self._reload_wanted.set()

    def ready(self) -> str | None:
        if not self._started:
            return "starting"
        if self._stop.is_set():
            return "stopping"
        if self.nc is not None and not self.nc.is_connected:
            return "not connected to NATS"
        if self._output_problem:
            return f"output unavailable: {self._output_problem}"
        return None

    # --- the run ----------------------------------------------------------------------------

    async def run(self) -> int:
        c = self.config
        loop = asyncio.get_running_loop()
        self._signals(loop)
        try:
            if c.metrics is not None:
                self.health = HealthServer(self.metrics, self.ready, *c.metrics)
                await self.health.start()
            await self.source.start()
            await self.sink.start()
            self._spawn(self._reloader(), "reloader")
            if c.watch_interval > 0:
                self._spawn(self._watcher(), "watcher")
            if not c.stdio:
                self._spawn(self._pending_poller(), "pending")
                if c.state and c.state_interval > 0:
                    self._spawn(self._state_saver(), "state")
            self._started = True
            self.log("start", **self._describe())
            await self._batches()
            await self._drain()
            await self._finish()
        finally:
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.health is not None:
                await self.health.close()
            await self.source.close()
            await self.sink.close()
        self.log("stop", events=self.events, batches=self.batches,
                 dead_letters=self.dead_letters, in_flight=self.flight.taken)
        return 2 if c.stdio and self.dead_letters else 0

    def _describe(self) -> dict:
        c = self.config
        d = {"mode": "stdio" if c.stdio else "jetstream", "rules": self.rules.count,
             "rule_sets": len(self.rules.sets), "rule_errors": len(self.rules.errors),
             "correlations": self.detector.corr.active, "batch": c.batch,
             "max_in_flight": c.max_in_flight, "state": c.state}
        if not c.stdio:
            d.update(server=c.nats, input_stream=c.input_stream, input_subject=c.input_subject,
                     consumer=c.consumer, output_subject=c.output_subject,
                     dlq_subject=c.dlq_subject)
        if self.health is not None:
            d["metrics"] = f"{c.metrics[0]}:{self.health.port}"
        return d

    async def _batches(self) -> None:
        """Batches from the fetcher's queue: matched here (synchronously), then published
        and acked (a task per batch with JetStream; in order, inline, on stdout)."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=PREFETCH)
        fetcher = asyncio.create_task(self._fetcher(queue), name="sigcc-serve-fetcher")
        try:
            while True:
                if self._next is not None:
                    await self._swap()
                try:
                    item = await asyncio.wait_for(queue.get(), self.config.fetch_timeout)
                except asyncio.TimeoutError:  # idle: a reload may be waiting for its swap
                    continue
                if item is None:  # stopped, or the input ended: the queue is empty now
                    break
                msgs, t0 = item
                outs = self.detector.batch(msgs)
                self._count_rule_errors()
                if self.sink.ordered:
                    await self._complete(msgs, outs, t0)
                else:
                    task = asyncio.create_task(self._complete(msgs, outs, t0))
                    self._completions.add(task)
                    task.add_done_callback(self._completed)
        finally:
            if not fetcher.done():
                fetcher.cancel()
            await asyncio.gather(fetcher, return_exceptions=True)
        if not fetcher.cancelled() and fetcher.exception() is not None:
            raise fetcher.exception()

    async def _fetcher(self, queue: asyncio.Queue) -> None:
        """Fetches while the loop matches, so matching never waits for a round trip to the
        server; at most PREFETCH batches wait in the queue, and their messages hold in-flight
        slots like any other: the queue adds nothing unbounded. Ends with None in the queue."""
        c = self.config
        try:
            while not self._stop.is_set():
                k = await self._take(c.batch)
                if k is None:  # stopped while waiting for a free slot
                    return
                self._fetching = k
                self._in_flight_changed(self.flight.taken)
                try:
                    msgs = await self.source.fetch(k, c.fetch_timeout)
                except BaseException:
                    self._fetching = 0
                    await self.flight.give(k)
                    raise
                self._fetching = 0
                self._in_flight_changed(self.flight.taken)
                if msgs is None:  # the input ended (stdin)
                    await self.flight.give(k)
                    return
                await self.flight.give(k - len(msgs))
                if msgs:
                    await queue.put((msgs, time.perf_counter()))
        finally:
            await queue.put(None)

    async def _take(self, n: int) -> int | None:
        """Slots for a fetch, or None when a stop comes first (the output may be down and
        every slot held: waiting for one must not delay the stop)."""
        take = asyncio.ensure_future(self.flight.take(n))
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait((take, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not take.done():
                take.cancel()
                await asyncio.gather(take, return_exceptions=True)
        if take.cancelled() or take.exception() is not None:
            return None
        if self._stop.is_set():
            await self.flight.give(take.result())
            return None
        return take.result()

    def _completed(self, task: asyncio.Task) -> None:
        self._completions.discard(task)
        if not task.cancelled() and task.exception() is not None:  # a bug: said at once; the
            exc = task.exception()                 # batch stays unacked and is redelivered
            self.log("batch_error", error=f"{type(exc).__name__}: {exc}")

    def _in_flight_changed(self, taken: int) -> None:
        self.metrics.in_flight.set(taken - self._fetching)

    async def _complete(self, msgs: list[InMessage], outs: list[list[Outgoing]], t0: float) -> None:
        """Publish what a batch produced, then acknowledge its messages."""
        try:
            items = [o for per in outs for o in per]
            await self._publish(items, msgs)
            await self.source.ack(msgs)
            self._count(msgs, items)
            self.metrics.batch_seconds.observe(time.perf_counter() - t0)
        finally:
            await self.flight.give(len(msgs))

    async def _publish(self, items: list[Outgoing], msgs: list[InMessage]) -> None:
        """Until every item is acknowledged: retry with backoff, keep the messages alive."""
        c = self.config
        delay, last_touch = 0.05, time.monotonic()
        touch_every = getattr(self.source, "ack_wait", c.ack_wait) / 3  # before redelivery
        while True:
            try:
                await self.sink.publish(items)
            except SinkUnavailable as exc:
                self.metrics.retries.inc()
                if self._output_problem != str(exc):
                    self.log("output_unavailable", error=str(exc), waiting=len(msgs))
                self._output_problem = str(exc)
                if time.monotonic() - last_touch > touch_every:
                    last_touch = time.monotonic()
                    await self.source.in_progress(msgs)
                await asyncio.sleep(delay)
                delay = min(delay * 2, c.retry_max)
                continue
            if self._output_problem is not None:
                self.log("output_recovered")
                self._output_problem = None
            return

    def _count(self, msgs: list[InMessage], items: list[Outgoing]) -> None:
        m = self.metrics
        m.events.inc(len(msgs))
        self.events += len(msgs)
        self.batches += 1 if msgs else 0
        stdio = self.config.stdio
        for item in items:
            if item.dead:
                self.dead_letters += 1
                m.dlq.labels(item.reason).inc()
                fields = dict(reason=item.reason, detail=item.headers.get("Sigcc-Detail"),
                              rule_id=item.rule_id, file=self._file(),
                              record=int(item.headers["Sigcc-Input-Sequence"]))
                if stdio:
                    fields["payload"] = item.payload[:DLQ_PAYLOAD_LOGGED].decode(
                        "utf-8", "replace").rstrip("\n")
                self.log("dlq", **fields)
            else:
                m.matches.labels(item.rule_id, item.level or "").inc()

    def _file(self) -> str:
        return self.source.name

    def _count_rule_errors(self) -> None:
        errors = self.detector.rule_errors
        for rule_id, _ in errors:
            self.metrics.rule_errors.labels(rule_id).inc()
        errors.clear()
        for problem in self.detector.doc_problems:  # (scan says these once on stderr too)
            self.log("rule_doc_problem", problem=problem)
        self.detector.doc_problems.clear()

    async def _drain(self) -> None:
        """The batches in flight: published and acked, for at most shutdown_timeout."""
        if not self._completions:
            return
        done, pending = await asyncio.wait(set(self._completions),
                                           timeout=self.config.shutdown_timeout)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            self.log("shutdown_timeout", unacked_batches=len(pending),
                     note="left unacknowledged: JetStream redelivers them")

    async def _finish(self) -> None:
        """Correlations at the end: state saved (--state) or the last windows flushed."""
        det = self.detector
        if not det.corr.active:
            return
        try:
            items = det.finish(self._file(), tag=f"end{time.time_ns()}-")
        except OSError as exc:
            self.log("state_error", state=self.config.state, error=str(exc))
            return
        if self.config.state:
            self.log("state_saved", state=self.config.state)
        if items:
            try:
                await asyncio.wait_for(self._publish(items, []), self.config.shutdown_timeout)
                self._count([], items)
            except asyncio.TimeoutError:
                self.log("shutdown_timeout", unpublished_firings=len(items))

    # --- reload -----------------------------------------------------------------------------

    async def _watcher(self) -> None:
        seen = self.rules.fingerprint
        while True:
            await asyncio.sleep(self.config.watch_interval)
            now = await asyncio.to_thread(fingerprint, self.config.rules)
            if now != seen:
                seen = now
                self.request_reload("rule files changed")

    async def _reloader(self) -> None:
        while True:
            await self._reload_wanted.wait()
            self._reload_wanted.clear()
            t0 = time.perf_counter()
            try:
                new = await asyncio.to_thread(build_rules, self.config.rules, self.config.options)
                why = check_rebuild(self.rules, new)
            except Exception as exc:  # a module that does not load, a file gone, ...
                new, why = None, f"{type(exc).__name__}: {exc}"
            if why is not None:
                self.metrics.reloads.labels("failed").inc()
                self.log("reload", result="failed", error=why, kept_rules=self.rules.count)
                continue
            self._next = (new, f"{time.perf_counter() - t0:.2f}s")

    async def _swap(self) -> None:
        """Between batches: the new rules, with the correlation windows carried over."""
        new, took = self._next
        self._next = None
        corr = ScanCorrelations(new.sets, self.config.correlation, None)
        flushed = _carry_over(self.detector.corr, corr)
        self.rules = new
        self.detector.swap(new, corr)
        self.metrics.reloads.labels("ok").inc()
        self.log("reload", result="ok", rules=new.count, rule_errors=len(new.errors), took=took,
                 flushed_firings=len(flushed))
        resettle()  # (nothing refers to the old rules now: collected, the new ones frozen)
        if flushed:
            end = InMessage(b"", 0, self._file())
            items: list[Outgoing] = []
            self.detector.firings(flushed, end, items, tag=f"reload{time.time_ns()}-")
            await self._publish(items, [])
            self._count([], items)

    # --- background -------------------------------------------------------------------------

    async def _pending_poller(self) -> None:
        while True:
            n = await self.source.pending()
            if n is not None:
                self.metrics.pending.set(n)
            await asyncio.sleep(1.0)

    async def _state_saver(self) -> None:
        while True:
            await asyncio.sleep(self.config.state_interval)
            try:
                self.detector.corr.finish()  # with a state file: saves, changes nothing
            except OSError as exc:
                self.log("state_error", state=self.config.state, error=str(exc))

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=f"sigcc-serve-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.log("task_error", task=task.get_name(), error=f"{type(exc).__name__}: {exc}")
            self.stop(f"background task {task.get_name()} failed")

    def _signals(self, loop) -> None:
        """Handled on the loop until it closes (closing removes them): a SIGTERM during the
        last acks and the drain of the connection is one more stop request, never a kill."""
        for sig, fn in ((signal.SIGTERM, lambda: self.stop("SIGTERM")),
                        (signal.SIGINT, lambda: self.stop("SIGINT")),
                        (signal.SIGHUP, lambda: self.request_reload("SIGHUP"))):
            try:
                loop.add_signal_handler(sig, fn)
            except (RuntimeError, ValueError, NotImplementedError):  # not the main thread
                pass


def _carry_over(old_corr, corr) -> list:
    """The correlation windows of the running rules restored into the rebuilt ones; the
    firings of those that cannot be carried over (changed shape, or gone), flushed."""
    corr.state = old_corr.state
    flushed = []
    for i, engine in enumerate(corr.engines):
        old = old_corr.engines[i] if i < len(old_corr.engines) else None
        if engine is None or old is None:
            if old is not None:
                flushed += old.flush()
            continue
        try:
            engine.restore(old.snapshot())
        except SnapshotError:  # the correlations changed shape: close the old windows
            flushed += old.flush()
    for old in old_corr.engines[len(corr.engines):]:
        if old is not None:
            flushed += old.flush()
    return flushed
