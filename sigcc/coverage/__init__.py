"""`sigcc coverage`: ATT&CK coverage of a rule repository (docs/rule-ci.md).

    attack.py  reading `attack.*` tags: techniques, tactics, other namespaces
    layer.py   counting rules per technique and tactic; the Navigator layer (format 4.5)
    cli.py     the subcommand
"""
_LAZY = {
    'Coverage': 'sigcc.coverage.layer',
    'collect': 'sigcc.coverage.layer',
    'rule_refs': 'sigcc.coverage.layer',
    'select': 'sigcc.coverage.layer',
    'to_layer': 'sigcc.coverage.layer',
}

__all__ = ["Coverage", "collect", "rule_refs", "select", "to_layer"]


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
