"""`sigcc lint`: style and correctness checks for Sigma rule repositories.

    from sigcc.lint import lint, load_config
    result = lint(["rules/"], load_config())      # LintResult: findings, files, documents
    for f in result.findings:
        print(f.file, f.line, f.col, f.check, f.level, f.message)

Modules, in pipeline order: registry (the check table), source (positions and the
per-document context), checks_meta / checks_tags / checks_detection / checks_repo (the
checks; satisfiable is the contradiction test some use), config (.sigcc-lint.yml), engine
(running them), fix (safe fixes, edited in place), output (text, JSON, SARIF 2.1.0), cli.
"""
from __future__ import annotations

# The names load on first use, so `sigcc lint --help` (sigcc/lint/cli.py) imports nothing
# heavy (yaml, lark): tests/cli/test_startup_imports.py.
_WHERE = {
    "lint": "engine", "LintResult": "engine",
    "LintConfig": "config", "load_config": "config", "make_config": "config",
    "ConfigError": "config", "CHECKS": "engine", "Check": "registry",
    "Finding": "source", "Fix": "source",
}

__all__ = ["lint", "LintResult", "LintConfig", "load_config", "make_config", "ConfigError",
           "CHECKS", "Check", "Finding", "Fix"]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'sigcc.lint' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f"sigcc.lint.{_WHERE[name]}"), name)
