"""`sigcc coverage`: ATT&CK coverage of a rule repository (docs/rule-ci.md).

    attack.py  reading `attack.*` tags: techniques, tactics, other namespaces
    layer.py   counting rules per technique and tactic; the Navigator layer (format 4.5)
    cli.py     the subcommand
"""
from sigcc.coverage.layer import Coverage, collect, rule_refs, select, to_layer

__all__ = ["Coverage", "collect", "rule_refs", "select", "to_layer"]
