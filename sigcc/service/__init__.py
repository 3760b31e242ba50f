"""`sigcc serve`: the always-on detection service (docs/serve.md).

    from sigcc.service import ServeConfig, serve
    exit_status = serve(ServeConfig(rules=("rules/",)))          # NDJSON stdin -> stdout
    serve(ServeConfig(rules=("rules/",), nats="nats://127.0.0.1:4222", input_stream="EVENTS",
                      input_subject="events.>", consumer="sigcc", output_subject="matches",
                      dlq_subject="dlq"))

Modules, one job each: config (the frozen ServeConfig), messages (what flows, the Source and
Sink protocols), decode (payload -> event or DLQ reason), rules (build, rebuild checks, file
fingerprints), detect (one batch matched: matches, firings, dead letters), flow (the bounded
in-flight count), stdio and jetstream (a source and a sink each), metrics (Prometheus and
health), loop (the service: batch loop, reload, shutdown), log (JSON lines on stderr),
cli (the `serve` subcommand).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sigcc.lazy import lazy_names

if TYPE_CHECKING:  # (for the annotations; imported when used)
    from sigcc.service.config import ServeConfig

_LAZY = {"ServeConfig": "sigcc.service.config", "ServeError": "sigcc.service.messages"}

__all__ = ["ServeConfig", "ServeError", "serve", "serve_async"]


def serve(config: "ServeConfig", rules=None, *, stdin=None, stdout=None, log=None) -> int:
    """Run until the input ends (stdin) or SIGTERM/SIGINT; the exit status (0; 2 in stdio
    mode when something went to the DLQ). Raises ServeError for what stops it at start."""
    import asyncio

    return asyncio.run(serve_async(config, rules, stdin=stdin, stdout=stdout, log=log))


async def serve_async(config: "ServeConfig", rules=None, *, stdin=None, stdout=None, log=None,
                      started=None) -> int:
    """`rules`: a prebuilt service.rules.Rules (the CLI's, checked against build-time
    switches); None: built here. `started(service)` is called once it runs (for tests and
    benchmarks that stop it with service.stop())."""
    import asyncio

    from sigcc.correlation.scan import StateError
    from sigcc.service.log import Log
    from sigcc.service.loop import Service
    from sigcc.service.messages import ServeError
    from sigcc.service.rules import build_rules

    log = log or Log()
    if rules is None:
        rules = await asyncio.to_thread(build_rules, config.rules, config.options)
    if not rules.count:
        raise ServeError("no rules to serve with (all rules failed to compile?)")
    nc = None
    if config.stdio:
        from sigcc.service.stdio import StdinSource, StdoutSink
        source = StdinSource(stdin, config.options.max_event_bytes)
        sink = StdoutSink(stdout)
    else:
        from sigcc.service.jetstream import JetStreamSink, JetStreamSource, connect
        nc = await connect(config.nats, log, config.connect_timeout)
        source, sink = JetStreamSource(nc, config, log), JetStreamSink(nc, config, log)
    try:
        try:
            service = Service(config, rules, source, sink, log, nc=nc)
        except StateError as exc:
            raise ServeError(str(exc)) from None
        if started is not None:
            started(service)
        return await service.run()
    finally:
        if nc is not None:
            try:
                await asyncio.wait_for(nc.drain(), config.shutdown_timeout)
            except Exception:  # already closed, or the server is gone: acks sent are sent
                await nc.close()

__getattr__ = lazy_names(__name__, _LAZY)
