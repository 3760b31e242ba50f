"""`sigcc coverage`: ATT&CK coverage of a rule repository (docs/rule-ci.md).

    attack.py  reading `attack.*` tags: techniques, tactics, other namespaces
    layer.py   counting rules per technique and tactic; the Navigator layer (format 4.5)
    cli.py     the subcommand
"""
from sigcc.lazy import lazy_names

_LAZY = {
    'Coverage': 'sigcc.coverage.layer',
    'collect': 'sigcc.coverage.layer',
    'rule_refs': 'sigcc.coverage.layer',
    'select': 'sigcc.coverage.layer',
    'to_layer': 'sigcc.coverage.layer',
}

__all__ = ["Coverage", "collect", "rule_refs", "select", "to_layer"]

__getattr__ = lazy_names(__name__, _LAZY)
