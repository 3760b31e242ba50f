"""Benchmark `sigcc serve` end to end through NATS JetStream (issue 11's targets).

    .venv/bin/python bench/serve.py [--nats nats://127.0.0.1:4222] [--events N] [--runs 3]
                                    [--rules PATH] [--shared ../shared] [--batch 100]

Inputs: the events of ../shared/corpora/evtx-samples as JSON messages (exactly the dicts
`read_events` yields), the SigmaHQ Windows rules (../shared/sigma/rules/windows) built once
into a module; without ../shared, the repository's examples (events repeated, examples/rules).

Figures, each repeated --runs times, median reported with the spread (min-max):
1. Baseline: the `sigcc scan` rate on the same events and rules, as a user runs it: a
   process (`sigcc scan --rules MODULE EVENTS.jsonl -o OUT`: the same JSON reader, the
   same match lines with details and rule documentation, written to a file) over the
   events once and three times; marginal rate = 2 x events / (t3 - t1), so start-up,
   module load and the first pass's regex compiling cancel out. For reference, the inner
   loop of a scan (decode, prepare, match, match_line, dumps; no reading, no writing) is
   timed in this process too.
2. One instance: the input stream holds --warm-up copies of the events and then --timed
   copies before the instance starts (the server ingests nothing while the time runs: on
   a 2-core machine ingest would compete with the instances for the CPU, and in a
   deployment it runs elsewhere or at another time); the instance starts (its rules
   loaded, its consumer bound), the warm-up copies warm it up (as the scan's first pass:
   regexes compiled and rule documentation read on first use), and the time runs from the
   count of acked messages reaching the warm-up copies' to its reaching all copies'
   (polled every 20 ms): fetch, match, publish every match with its JetStream ack, ack
   every input. Target: >= 60% of the baseline rate.
3. Two instances, one consumer group, the same way (started together). They share the
   warm-up copies: each instance sees about half of each, so one copy would leave each
   with about half of the events' first-use costs still to pay inside the timed window
   (measured: 1.7x the CPU per event of one instance, where three copies leave 1.1x); the
   default is 3 warm-up copies. Target: >= 1.6x one instance (2 cores: they compete with
   nats-server itself, and with whatever else runs).
   With a local nats-server (found by pgrep), the CPU time per event of the instances and
   of the server during the timed window is printed too: on 2 cores, two instances cannot
   go faster than 2 s / (their CPU + the server's) per event.
4. Latency: after a warm-up copy of the events (unpaced, not measured), events published
   at 50% of the median one-instance rate (paced in 10 ms ticks); for each match, its
   output message's JetStream time minus its input message's
   (one clock: the server's). p50/p99 reported.
The load average (1 min) is printed at the start and end: the machine is shared, and other
processes make every figure noisier and the two-instance ratio lower.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402


def load_inputs(ns) -> tuple[list[bytes], str, str]:
    from sigcc.runtime.inputs import Record, read_events

    shared = Path(ns.shared)
    corpus = shared / "corpora" / "evtx-samples"
    if corpus.is_dir():
        events = [orjson.dumps(i.event) for i in read_events([str(corpus)]) if isinstance(i, Record)]
        what = f"{corpus} ({len(events)} events)"
    else:
        logs = ROOT / "examples" / "logs"
        one = [orjson.dumps(i.event) for i in read_events([str(logs)]) if isinstance(i, Record)]
        events = one * (20000 // len(one) + 1)
        what = f"examples/logs repeated ({len(one)} events x {20000 // len(one) + 1})"
    if ns.events:
        events = events[:ns.events]
    rules = ns.rules
    if rules is None:
        sigma = shared / "sigma" / "rules" / "windows"
        if sigma.is_dir():
            out = Path(tempfile.mkdtemp(prefix="sigcc-bench-serve-")) / "windows.py"
            subprocess.run([sys.executable, "-m", "sigcc", "build", "-q", str(sigma), "-o",
                            str(out)], check=True, cwd=ROOT)
            rules = str(out)
        else:
            rules = str(ROOT / "examples" / "rules")
    return events, rules, what


def scan_baseline(events: list[bytes], rules: str, tmp: Path) -> tuple[float, float]:
    """`sigcc scan` as a process over the events x1 and x3 (JSONL files): the marginal rate
    and the marginal CPU µs per event."""
    from processes import run

    files = {}
    for k in (1, 3):
        f = tmp / f"events-x{k}.jsonl"
        if not f.exists():
            f.write_bytes(b"".join(e + b"\n" for e in events) * k)
        files[k] = f
    t = {}
    for k, f in files.items():
        t[k] = run([str(ROOT / ".venv" / "bin" / "sigcc"), "scan", "--no-summary", "--progress",
                    "never", "--rules", rules, str(f), "-o", str(tmp / "scan-out.jsonl")])
    n = 2 * len(events)
    return n / (t[3].wall - t[1].wall), 1e6 * (t[3].cpu - t[1].cpu) / n


def scan_loop_rate(events: list[bytes], rules: str) -> tuple[float, int]:
    """The inner loop of a scan in this process (for reference): decode, prepare, match,
    match_line, dumps per event, on a second pass (the first compiles the rules' regexes)."""
    from sigcc.options import Options
    from sigcc.results.lines import match_line
    from sigcc.runtime.json_text import decode
    from sigcc.runtime.output import dumps
    from sigcc.service.rules import build_rules

    built = build_rules((rules,), Options())
    for timed in (False, True):
        t0 = time.perf_counter()
        matches = 0
        for n, data in enumerate(events, 1):
            event = decode(data, 64)
            for rs, docs in zip(built.sets, built.docs):
                ev, lc, tc = rs.prepare(event)
                for m in rs.match_prepared(ev, lc, tc):
                    dumps(match_line(m, ev, docs, file="f", record=n)[0])
                    matches += 1
    return len(events) / (time.perf_counter() - t0), matches


def nats_server_pid() -> int | None:
    try:
        out = subprocess.run(["pgrep", "-x", "nats-server"], capture_output=True, text=True)
        pids = [int(p) for p in out.stdout.split()]
    except (OSError, ValueError):
        return None
    return pids[0] if len(pids) == 1 else None


def cpu_seconds(pid: int | None) -> float | None:
    """user + system seconds of a running process (Linux /proc), None if unreadable."""
    if pid is None:
        return None
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Run:
    """Streams for one measured run on the server, deleted at the end."""

    def __init__(self, js, tag: str, storage: str = "file"):
        self.js, self.tag, self.storage = js, tag, storage
        self.input = f"BENCH_IN_{tag}"
        self.output = f"BENCH_OUT_{tag}"
        self.subject = f"bench.{tag}.events"
        self.out_subject, self.dlq_subject = f"bench.{tag}.matches", f"bench.{tag}.dlq"
        self.consumer = f"bench_{tag}"

    async def create(self, events: list[bytes] | None) -> None:
        """The input stream (holding `events` when given) and the output stream."""
        from nats.js import api

        js, storage = self.js, api.StorageType(self.storage)
        await js.add_stream(name=self.input, subjects=[self.subject], storage=storage)
        if events:
            await publish_fast(js, self.subject, events)
        await js.add_stream(name=self.output, subjects=[self.out_subject, self.dlq_subject],
                            storage=storage)

    def flags(self, url: str) -> list[str]:
        return ["--nats", url, "--input-stream", self.input, "--input-subject", self.subject,
                "--consumer", self.consumer, "--output-subject", self.out_subject,
                "--dlq-subject", self.dlq_subject]

    async def acked(self) -> int:
        """Messages acknowledged so far: delivered minus pending acks (not the ack floor,
        which a slow batch of one instance holds back while the other races on)."""
        info = await self.js.consumer_info(self.input, self.consumer)
        return info.delivered.consumer_seq - info.num_ack_pending

    async def delete(self) -> None:
        for s in (self.input, self.output):
            try:
                await self.js.delete_stream(s)
            except Exception:
                pass


async def publish_fast(js, subject: str, payloads: list[bytes]) -> None:
    window = 2000
    for i in range(0, len(payloads), window):
        futs = [await js.publish_async(subject, p) for p in payloads[i:i + window]]
        await asyncio.gather(*futs)


def start_instance(rules: str, flags: list[str], batch: int, log: Path) -> subprocess.Popen:
    """`sigcc serve` as from a user's shell (processes.STRIPPED_ENV, as the scan baseline)."""
    from processes import STRIPPED_ENV

    env = {k: v for k, v in os.environ.items() if k not in STRIPPED_ENV}
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "sigcc"), "serve", "--rules", rules,
                             *flags, "--batch", str(batch), "--max-in-flight", str(batch * 10),
                             "--watch-interval", "0"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(log, "wb"), env=env)


def wait_started(log: Path, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited {proc.returncode}: {log.read_text()}")
        if b'"event":"start"' in log.read_bytes():
            return
        time.sleep(0.02)
    raise SystemExit(f"serve did not start: {log.read_text()}")


async def instances_rate(js, url: str, events: list[bytes], rules: str, k: int, batch: int,
                         tmp: Path, storage: str = "file", warm: int = 3, timed: int = 2
                         ) -> tuple[float, list[float] | None, float | None]:
    """(events/s over the timed copies, each instance's CPU µs per event in that window,
    the local nats-server's CPU µs per event; None where not readable)."""
    run = Run(js, uuid.uuid4().hex[:8], storage)
    procs = []
    server = nats_server_pid()
    try:
        await run.create(events * (warm + timed))
        await js.add_consumer(run.input, _consumer(run, 30))
        for i in range(k):
            log = tmp / f"{run.tag}-{i}.log"
            procs.append((start_instance(rules, run.flags(url), batch, log), log))
        for p, log in procs:
            await asyncio.to_thread(wait_started, log, p)
        first, n = warm * len(events), timed * len(events)
        while await run.acked() < first:
            await asyncio.sleep(0.02)
        t0 = time.perf_counter()
        c0 = [cpu_seconds(p.pid) for p, _ in procs]
        s0 = cpu_seconds(server)
        while await run.acked() < first + n:
            await asyncio.sleep(0.02)
        dt = time.perf_counter() - t0
        c1 = [cpu_seconds(p.pid) for p, _ in procs]
        s1 = cpu_seconds(server)
        us = None if None in c0 + c1 else [1e6 * (b - a) / n for a, b in zip(c0, c1)]
        return n / dt, us, (None if s0 is None or s1 is None else 1e6 * (s1 - s0) / n)
    finally:
        for p, _ in procs:
            p.terminate()
        for p, _ in procs:
            p.wait(60)
        await run.delete()


def _consumer(run, ack_wait):
    from nats.js import api

    return api.ConsumerConfig(durable_name=run.consumer, filter_subject=run.subject,
                              ack_policy=api.AckPolicy.EXPLICIT, ack_wait=ack_wait,
                              max_ack_pending=20000)


async def latency(js, url: str, events: list[bytes], rules: str, rate: float, batch: int,
                  tmp: Path, seconds: float, storage: str = "file"
                  ) -> tuple[float, float, int, float]:
    run = Run(js, uuid.uuid4().hex[:8], storage)
    n = min(len(events), int(rate * seconds))
    log = tmp / f"{run.tag}-lat.log"
    proc = None
    try:
        await run.create(None)
        await js.add_consumer(run.input, _consumer(run, 30))
        proc = start_instance(rules, run.flags(url), batch, log)
        await asyncio.to_thread(wait_started, log, proc)
        warm = len(events)  # a first copy, unpaced and not measured: the instance warms up
        await publish_fast(js, run.subject, events)
        while await run.acked() < warm:
            await asyncio.sleep(0.05)
        per_tick = rate / 100
        t0 = time.perf_counter()
        sent, owed = 0, 0.0
        while sent < n:
            owed += per_tick
            k = min(int(owed), n - sent)
            owed -= k
            futs = [await js.publish_async(run.subject, e) for e in events[sent:sent + k]]
            sent += k
            await asyncio.gather(*futs)
            delay = t0 + (sent / rate) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        achieved = n / (time.perf_counter() - t0)
        while await run.acked() < warm + n:
            await asyncio.sleep(0.05)
        info = await js.stream_info(run.output)
        lat = []
        in_time: dict[int, float] = {}
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            out = await js.get_msg(run.output, seq)
            if out.subject != run.out_subject:
                continue
            record = json.loads(out.data)["record"]
            if record <= warm:
                continue
            if record not in in_time:
                in_time[record] = (await js.get_msg(run.input, record)).time.timestamp()
            lat.append(out.time.timestamp() - in_time[record])
        lat.sort()
        return (statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))], len(lat),
                achieved)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
        await run.delete()


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    return (f"{fmt.format(statistics.median(values))} (min {fmt.format(min(values))}, "
            f"max {fmt.format(max(values))}, {len(values)} runs)")


async def main_async(ns) -> int:
    import nats

    load_start = os.getloadavg()
    events, rules, what = load_inputs(ns)
    print(f"sigcc serve benchmark: {what}; rules {rules}; batch {ns.batch}; "
          f"{ns.storage} streams; {ns.warm_up} warm-up + {ns.timed} timed copies; "
          f"load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} at start, "
          f"{os.cpu_count()} cores", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="sigcc-bench-serve-logs-"))
    nc = await nats.connect(ns.nats)
    js = nc.jetstream()
    base, base_cpu, loop, one, two = [], [], [], [], []
    cpu1, cpu2, srv1, srv2 = [], [], [], []
    matches = 0
    try:
        for r in range(ns.runs):
            rate, us = scan_baseline(events, rules, tmp)
            base.append(rate)
            base_cpu.append(us)
            rate, matches = scan_loop_rate(events, rules)
            loop.append(rate)
            rate, us, srv = await instances_rate(js, ns.nats, events, rules, 1, ns.batch, tmp,
                                                   ns.storage, ns.warm_up, ns.timed)
            one.append(rate)
            cpu1 += [sum(us)] if us else []
            srv1 += [srv] if srv is not None else []
            rate, us, srv = await instances_rate(js, ns.nats, events, rules, 2, ns.batch, tmp,
                                                   ns.storage, ns.warm_up, ns.timed)
            two.append(rate)
            cpu2 += [sum(us)] if us else []
            srv2 += [srv] if srv is not None else []
            print(f"  run {r + 1}: scan {base[-1]:,.0f} ev/s (its inner loop {loop[-1]:,.0f}), "
                  f"one instance {one[-1]:,.0f} ev/s, two {two[-1]:,.0f} ev/s "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
        half = statistics.median(one) / 2
        lat = [await latency(js, ns.nats, events, rules, half, ns.batch, tmp, ns.latency_seconds,
                             ns.storage)
               for _ in range(ns.runs)]
    finally:
        await nc.close()
    r1 = [o / b for o, b in zip(one, base)]
    r2 = [t / o for t, o in zip(two, one)]
    print(f"events {len(events):,}, matches per pass {matches:,}")
    print(f"sigcc scan (process, marginal) {spread(base)} events/s")
    print(f"  its inner loop, in process   {spread(loop)} events/s (reference only)")
    print(f"one instance via JetStream     {spread(one)} events/s")
    print(f"two instances, one consumer    {spread(two)} events/s")
    if cpu1 and srv1:
        print(f"CPU per event: sigcc scan {spread(base_cpu, '{:.0f}')} µs; in the window: "
              f"one instance {spread(cpu1, '{:.0f}')} µs + "
              f"nats-server {spread(srv1, '{:.0f}')} µs; two instances together "
              f"{spread(cpu2, '{:.0f}')} µs + nats-server {spread(srv2, '{:.0f}')} µs")
    print(f"one instance / scan            {spread(r1, '{:.2f}')}   target >= 0.60: "
          f"{'met' if statistics.median(r1) >= 0.6 else 'NOT met'}")
    print(f"two instances / one            {spread(r2, '{:.2f}')}   target >= 1.60: "
          f"{'met' if statistics.median(r2) >= 1.6 else 'NOT met'}")
    p50 = [x[0] * 1000 for x in lat]
    p99 = [x[1] * 1000 for x in lat]
    print(f"latency publish -> match published at {half:,.0f} events/s (50% of one instance's "
          f"median; achieved {statistics.median([x[3] for x in lat]):,.0f}), over "
          f"{lat[0][2]:,} matches per run: p50 {spread(p50, '{:.1f}')} ms, "
          f"p99 {spread(p99, '{:.1f}')} ms")
    end = os.getloadavg()
    print(f"load average {end[0]:.2f} {end[1]:.2f} {end[2]:.2f} at the end "
          "(other processes on this shared machine make the figures noisy)")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nats", default="nats://127.0.0.1:4222")
    p.add_argument("--shared", default=str(ROOT.parent / "shared"))
    p.add_argument("--rules", default=None, help="rules or module (default: SigmaHQ Windows)")
    p.add_argument("--events", type=int, default=None, help="use the first N events only")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--warm-up", type=int, default=3, metavar="COPIES",
                   help="copies of the events before the timed ones (default 3)")
    p.add_argument("--timed", type=int, default=2, metavar="COPIES",
                   help="copies of the events timed (default 2)")
    p.add_argument("--storage", choices=("file", "memory"), default="file",
                   help="the JetStream storage of the bench's streams (default: file, "
                        "JetStream's own default)")
    p.add_argument("--latency-seconds", type=float, default=5.0)
    return asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
