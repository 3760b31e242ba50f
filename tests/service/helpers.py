"""Helpers of the service tests: the NATS server (the machine's, or one a test starts),
unique stream names, a `sigcc serve` process and what it logs, reading a stream back."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NATS_URL = os.environ.get("SIGCC_NATS", "nats://127.0.0.1:4222")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def _reachable(url: str) -> bool:
    host, _, port = url.rpartition("//")[2].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


needs_nats = pytest.mark.skipif(
    not _reachable(NATS_URL),
    reason=f"no NATS server at {NATS_URL} (the machines and CI run one with JetStream; "
           "set SIGCC_NATS to use another)")
needs_nats_binary = pytest.mark.skipif(
    not os.access(NATS_SERVER, os.X_OK),
    reason=f"no nats-server binary at {NATS_SERVER} to start a test's own server")


@dataclass(frozen=True)
class Names:
    """Unique JetStream names for one test."""

    tag: str

    @classmethod
    def new(cls) -> "Names":
        return cls(uuid.uuid4().hex[:10])

    input_stream = property(lambda s: f"SIGCC_IN_{s.tag}")
    output_stream = property(lambda s: f"SIGCC_OUT_{s.tag}")
    dlq_stream = property(lambda s: f"SIGCC_DLQ_{s.tag}")
    input_subject = property(lambda s: f"sigcc.test.{s.tag}.events")
    output_subject = property(lambda s: f"sigcc.test.{s.tag}.matches")
    dlq_subject = property(lambda s: f"sigcc.test.{s.tag}.dlq")
    consumer = property(lambda s: f"sigcc_{s.tag}")

    def flags(self, url: str = NATS_URL, consumer: str | None = None) -> list[str]:
        return ["--nats", url, "--input-stream", self.input_stream,
                "--input-subject", self.input_subject, "--consumer", consumer or self.consumer,
                "--output-subject", self.output_subject, "--dlq-subject", self.dlq_subject]


async def make_streams(js, names: Names, *, output: bool = True, duplicate_window: float = 120):
    from nats.js import api

    await js.add_stream(name=names.input_stream, subjects=[names.input_subject],
                        duplicate_window=duplicate_window)
    if output:
        await js.add_stream(name=names.output_stream, subjects=[names.output_subject],
                            duplicate_window=duplicate_window)
    await js.add_stream(name=names.dlq_stream, subjects=[names.dlq_subject],
                        duplicate_window=duplicate_window, storage=api.StorageType.FILE)


async def delete_streams(js, names: Names) -> None:
    import nats.js.errors

    for s in (names.input_stream, names.output_stream, names.dlq_stream):
        try:
            await js.delete_stream(s)
        except nats.js.errors.NotFoundError:
            pass


async def publish_all(js, subject: str, payloads, *, id_prefix: str = "in") -> None:
    """Publish in order, each acked (retried with its Nats-Msg-Id through an outage)."""
    import nats.errors
    import nats.js.errors

    for n, data in enumerate(payloads, 1):
        while True:
            try:
                await js.publish(subject, data, timeout=2, headers={"Nats-Msg-Id": f"{id_prefix}{n}"})
                break
            except (nats.errors.Error, nats.js.errors.Error, OSError, asyncio.TimeoutError):
                await asyncio.sleep(0.1)


async def publish_many(js, subject: str, payloads) -> None:
    """Publish without waiting for each ack in turn (in order; all acked at the end)."""
    futures = [await js.publish_async(subject, data) for data in payloads]
    await asyncio.gather(*futures)


async def read_stream(js, stream: str) -> list:
    """Every message of a stream (data, headers), in order."""
    import nats.js.errors

    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            m = await js.get_msg(stream, seq)
        except nats.js.errors.NotFoundError:
            continue
        out.append((m.data or b"", m.headers or {}))
    return out


async def stream_count(js, stream: str) -> int:
    return (await js.stream_info(stream)).state.messages


def run(coro):
    return asyncio.run(coro)


class Serve:
    """`sigcc serve` in its own process; its JSON log lines read back from a file."""

    def __init__(self, args: list[str], tmp: Path, name: str = "serve", stdin=None, env=None):
        self.log_path = tmp / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self._err = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sigcc", "serve", *args], stdin=stdin or subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self._err, cwd=ROOT, env=env)

    def lines(self) -> list[dict]:
        out = []
        for line in self.log_path.read_bytes().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"event": "raw", "text": line.decode("utf-8", "replace")})
        return out

    def events(self, name: str) -> list[dict]:
        return [x for x in self.lines() if x.get("event") == name]

    def wait_for(self, name: str, timeout: float = 20, count: int = 1) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.events(name)
            if len(got) >= count:
                return got
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count} {name!r} log line(s) within {timeout}s; "
                             f"exit {self.proc.poll()}; log:\n{self.log_path.read_text()}")

    @property
    def metrics_url(self) -> str:
        return "http://" + self.wait_for("start")[0]["metrics"]

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.metrics_url + path, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> dict[str, float]:
        """{'name{labels}': value} of the /metrics text."""
        _, text = self.get("/metrics")
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def term(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        finally:
            self._err.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._err.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self._err.closed:
            self._err.close()


def metric_sum(metrics: dict[str, float], name: str) -> float:
    return sum(v for k, v in metrics.items() if k == name or k.startswith(name + "{"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnNatsServer:
    """A nats-server a test starts itself (own port, own storage directory): restarting it
    leaves the machine's server alone."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.store = tmp / "nats-store"
        self.store.mkdir(exist_ok=True)
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                      "-sd", str(self.store)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _reachable(self.url):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"nats-server on port {self.port} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def scan_lines(rules: list[str], events: Path, *extra: str) -> list[dict]:
    """What `sigcc scan` writes for these events (one dict per match/firing line)."""
    args = [sys.executable, "-m", "sigcc", "scan", "--no-summary"]
    for r in rules:
        args += ["--rules", r]
    r = subprocess.run(args + [*extra, str(events)], cwd=ROOT, capture_output=True, timeout=120)
    assert r.returncode in (0, 2), r.stderr.decode()
    return [json.loads(line) for line in r.stdout.splitlines()]


def projected(serve_line: dict, scan_line: dict) -> dict:
    """scan's line as serve must write it: every key and value the same (serve writes the
    lines through the same results.lines.match_line, details and rule documentation
    included), but for `file`, which a caller that compares across inputs has removed from
    serve's line (serve's file is the stream or <stdin>)."""
    return {k: v for k, v in scan_line.items() if k != "file" or "file" in serve_line}


def assert_same_lines(serve_lines: list[dict], scan_lines: list[dict], *, ordered=True,
                      drop: tuple[str, ...] = ()) -> None:
    serve_lines = [{k: v for k, v in s.items() if k not in drop} for s in serve_lines]
    scan_lines = [{k: v for k, v in s.items() if k not in drop} for s in scan_lines]
    if not ordered:
        key = lambda d: (d.get("record") or 0, d["rule_id"])  # noqa: E731
        serve_lines, scan_lines = sorted(serve_lines, key=key), sorted(scan_lines, key=key)
    assert len(serve_lines) == len(scan_lines)
    assert serve_lines == [projected(a, b) for a, b in zip(serve_lines, scan_lines)]
