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

from sigcc.lint.config import ConfigError, LintConfig, load_config, make_config
from sigcc.lint.engine import LintResult, lint
from sigcc.lint.registry import CHECKS, Check
from sigcc.lint.source import Finding, Fix

__all__ = ["lint", "LintResult", "LintConfig", "load_config", "make_config", "ConfigError",
           "CHECKS", "Check", "Finding", "Fix"]
