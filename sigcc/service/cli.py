"""`sigcc serve`: the subcommand (registered by sigcc/cli.py's build_parser via `register`).

Exit status: 0 stopped by SIGTERM/SIGINT or the end of stdin; 2 stdin mode only: something
went to the DLQ (as `scan` exits 2 when it skipped input); 1 it could not start (no rules,
a build-time switch a module was not built with, a --state it cannot continue from, NATS
unreachable, no input stream, a bad flag value)."""
from __future__ import annotations

import argparse
import sys


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"need HOST:PORT (e.g. 127.0.0.1:9464), got {text!r}")
    return host or "0.0.0.0", int(port)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be >= 0 seconds")
    return value


def register(sub) -> None:
    from sigcc.cli import _lateness, _options_args

    s = sub.add_parser(
        "serve", help="run rules over an event stream (NDJSON stdin or NATS JetStream)",
        description="An always-on detection service: events in (NDJSON on stdin, or a NATS "
                    "JetStream durable pull consumer shared by every instance with the same "
                    "--consumer), one JSON match per message out (stdout, or --output-subject), "
                    "malformed events and rule errors to a dead-letter queue, Prometheus "
                    "metrics, hot reload on SIGHUP or rule file change, graceful stop on "
                    "SIGTERM. See docs/serve.md.")
    s.add_argument("--rules", action="append", required=True, metavar="PATH",
                   help="rule file/directory or a module built by 'sigcc build' (repeatable)")
    s.add_argument("--input", default="-", choices=("-",),
                   help="'-' (default): NDJSON events on stdin, matches on stdout; "
                        "not with --nats")
    n = s.add_argument_group("NATS JetStream (all six together)")
    n.add_argument("--nats", metavar="URL", help="server, e.g. nats://127.0.0.1:4222")
    n.add_argument("--input-stream", metavar="NAME", help="the stream events are read from")
    n.add_argument("--input-subject", metavar="SUBJECT", help="the consumer's filter subject")
    n.add_argument("--consumer", metavar="NAME",
                   help="durable pull consumer (created if absent); instances with the same "
                        "name share the stream, each message handled by one of them")
    n.add_argument("--output-subject", metavar="SUBJECT",
                   help="where matches go (a JetStream stream must capture it)")
    n.add_argument("--dlq-subject", metavar="SUBJECT",
                   help="where dead letters go (original payload; headers Sigcc-Reason, "
                        "Sigcc-Detail, Sigcc-Rule-Id)")
    f = s.add_argument_group("flow")
    f.add_argument("--batch", type=_positive, default=100,
                   help="messages fetched, matched, published and acked together (default 100)")
    f.add_argument("--max-in-flight", type=_positive, default=1000,
                   help="most messages fetched and not yet acknowledged (default 1000)")
    f.add_argument("--shutdown-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                   help="at SIGTERM, how long to wait for in-flight batches (default 10)")
    f.add_argument("--connect-timeout", type=_seconds, default=5.0, metavar="SECONDS",
                   help="how long to try the first connection to --nats (default 5)")
    f.add_argument("--watch-interval", type=_seconds, default=1.0, metavar="SECONDS",
                   help="how often to look for rule file changes; 0: reload on SIGHUP only")
    f.add_argument("--max-event-bytes", type=_positive, default=None, metavar="N",
                   help="larger messages go to the DLQ (default 16 MiB)")
    f.add_argument("--max-event-depth", type=_positive, default=None, metavar="N",
                   help="deeper-nested messages go to the DLQ (default 100)")
    f.add_argument("--metrics", type=_host_port, metavar="HOST:PORT",
                   help="serve /metrics, /healthz and /readyz (port 0: any free port, "
                        "named in the start log line)")
    c = s.add_argument_group("correlations (docs/correlations.md)")
    c.add_argument("--state", metavar="FILE",
                   help="correlation state: restored at start, saved every 30 s and at stop")
    c.add_argument("--timestamp-field", metavar="FIELD", default=None,
                   help="the (flattened) field holding the event time (as scan)")
    c.add_argument("--lateness", type=_lateness, metavar="SECONDS", default=None,
                   help="how far out of time order a match may arrive (default: 60 with "
                        "--nats or --state; on stdin without --state: inf, as scan)")
    _options_args(s)
    s.set_defaults(func=cmd_serve)


def config_from(ns):
    from dataclasses import replace

    from sigcc.cli import _options
    from sigcc.correlation import CorrelationOptions
    from sigcc.service.config import ServeConfig

    options = _options(ns)
    if ns.max_event_bytes is not None:
        options = replace(options, max_event_bytes=ns.max_event_bytes)
    if ns.max_event_depth is not None:
        options = replace(options, max_event_depth=ns.max_event_depth)
    endless = ns.nats is not None or ns.state is not None
    lateness = ns.lateness if ns.lateness is not None else (60.0 if endless else float("inf"))
    return ServeConfig(
        rules=tuple(ns.rules), options=options, nats=ns.nats, input_stream=ns.input_stream,
        input_subject=ns.input_subject, consumer=ns.consumer, output_subject=ns.output_subject,
        dlq_subject=ns.dlq_subject, batch=ns.batch, max_in_flight=ns.max_in_flight,
        state=ns.state, metrics=ns.metrics,
        correlation=CorrelationOptions(timestamp_field=ns.timestamp_field, lateness=lateness),
        watch_interval=ns.watch_interval, shutdown_timeout=ns.shutdown_timeout,
        connect_timeout=ns.connect_timeout)


class _Stopped(Exception):
    """SIGTERM before the service runs (while the rules load): nothing was fetched yet."""


def _stop_while_starting(signum, frame):
    raise _Stopped


def cmd_serve(ns) -> int:
    import signal

    signal.signal(signal.SIGTERM, _stop_while_starting)  # the service installs its own
    try:
        return _serve(ns)
    except _Stopped:
        print("sigcc serve: stopped (SIGTERM) while starting", file=sys.stderr)
        return 0


def _serve(ns) -> int:
    from sigcc.cli import BuildTimeSwitch, _print_diagnostics
    from sigcc.service import ServeError, serve
    from sigcc.runtime.memory import settle
    from sigcc.service.rules import build_rules

    try:
        config = config_from(ns)
    except ValueError as exc:
        print(f"sigcc serve: {exc}", file=sys.stderr)
        return 1
    try:
        rules = build_rules(config.rules, config.options, ns)
    except (BuildTimeSwitch, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    _print_diagnostics(list(rules.errors), sys.stderr)
    settle()  # (runtime/memory.py: reloads resettle)
    try:
        return serve(config, rules)
    except ServeError as exc:
        print(f"sigcc serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
