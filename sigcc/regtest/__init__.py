"""`sigcc test`: regression cases for rule repositories (docs/rule-ci.md).

    cases.py         what a case is; discover(paths) finds them (both kinds below)
    sigmahq.py       SigmaHQ's regression_data: info.yml + the events it names
    expectations.py  *.sigcc-test.yml: rule, corpus, exactly / at_least / at_most
    runner.py        run(cases, rulesets, ...): each corpus read and matched once, cases judged
    junit.py         JUnit XML (--junit)
    cli.py           the subcommand
"""
from sigcc.lazy import lazy_names

_LAZY = {
    'Case': 'sigcc.regtest.cases',
    'discover': 'sigcc.regtest.cases',
    'Result': 'sigcc.regtest.runner',
    'run': 'sigcc.regtest.runner',
}

__all__ = ["Case", "Result", "discover", "run"]

__getattr__ = lazy_names(__name__, _LAZY)
