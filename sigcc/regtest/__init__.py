"""`sigcc test`: regression cases for rule repositories (docs/rule-ci.md).

    cases.py         what a case is; discover(paths) finds them (both kinds below)
    sigmahq.py       SigmaHQ's regression_data: info.yml + the events it names
    expectations.py  *.sigcc-test.yml: rule, corpus, exactly / at_least / at_most
    runner.py        run(cases, rulesets, ...): each corpus read and matched once, cases judged
    junit.py         JUnit XML (--junit)
    cli.py           the subcommand
"""
_LAZY = {
    'Case': 'sigcc.regtest.cases',
    'discover': 'sigcc.regtest.cases',
    'Result': 'sigcc.regtest.runner',
    'run': 'sigcc.regtest.runner',
}

__all__ = ["Case", "Result", "discover", "run"]


def __getattr__(name: str):
    """The package's names, imported when first asked for: `sigcc --help` and the other
    commands register this one's arguments without importing what it runs on."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
