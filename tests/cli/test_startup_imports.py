"""Every command pays the start-up of `sigcc`: building the argument parser (all commands,
each registered by its own subpackage) must not import what the commands run on."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("lark", "yaml", "jinja2", "asyncio", "nats", "prometheus_client", "pyspark", "pyarrow",
         "sqlglot", "rich", "evtx", "re2", "ahocorasick", "sigcc.compiler", "sigcc.correlation",
         "sigcc.backends", "sigcc.runtime.ruleset")


def test_the_parser_of_every_command_imports_nothing_heavy():
    code = ("import sys, json, sigcc.cli as c; c.build_parser(); "
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert heavy == [], f"building the parser imported {heavy}: import them where they are used"


def test_the_test_commands_choices_are_the_runners():
    from sigcc.regtest import cli, runner

    assert cli.UNEXPECTED == runner.UNEXPECTED
