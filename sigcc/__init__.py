"""sigcc — a compiler for Sigma detection rules.

    import sigcc
    rs = sigcc.compile(["rules/"])            # -> Ruleset (diagnostics in rs.diagnostics)
    rs.match(event)                            # -> [Match]
    source = sigcc.build_module(["rules/"])    # -> (module text, CompileResult)
"""
from __future__ import annotations

__version__ = "0.1.0"

from sigcc.diagnostics import Diagnostic, Span  # noqa: E402
from sigcc.options import Options  # noqa: E402

__all__ = ["__version__", "Options", "Diagnostic", "Span", "load_rules", "build_module",
           "compile", "to_query", "Ruleset", "Match"]


def __getattr__(name):
    # Lazy imports keep `import sigcc` cheap for generated modules and the CLI's --help.
    if name in ("load_rules", "build_module", "compile"):
        from sigcc import api
        return getattr(api, name)
    if name == "to_query":
        from sigcc.query import to_query
        return to_query
    if name in ("Ruleset", "Match"):
        from sigcc.runtime import ruleset
        return getattr(ruleset, name)
    raise AttributeError(name)
