"""Package names imported when first asked for (PEP 562), so that registering a command's
arguments (sigcc/cli.py builds every command's parser on each call) imports nothing it runs on.

    __getattr__ = lazy_names(__name__, {"ServeConfig": "sigcc.service.config"})
"""
from __future__ import annotations

import importlib
import sys


def lazy_names(package: str, table: dict[str, str]):
    """A module `__getattr__` giving each name of `table` from its module, once."""

    def __getattr__(name: str):
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
