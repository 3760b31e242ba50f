"""Lint configuration: which checks run, at which level, and a few limits.

A `.sigcc-lint.yml` in the current directory is read when no `--config FILE` is given:

    disable: [SL115, reference-not-url]   # check ids or slugs
    levels:                               # re-level checks: error | warning | info
      SL102: error
    title_max_length: 110
    exclude: ["deprecated/**"]            # glob patterns of rule paths to skip

A mistake in the file (an unknown check, level or key) is a `ConfigError` naming the file,
line and what to write instead.
"""
from __future__ import annotations

import datetime
import difflib
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from sigcc.compiler.loader import load_file
from sigcc.lint.registry import CHECKS, LEVELS, find

DEFAULT_FILE = ".sigcc-lint.yml"
KEYS = ("disable", "levels", "title_max_length", "exclude")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class LintConfig:
    disabled: frozenset[str] = frozenset()  # check ids
    levels: dict = field(default_factory=dict)  # check id -> level
    title_max_length: int = 110
    exclude: tuple[str, ...] = ()
    now: datetime.date | None = None  # "today" for the date checks (None: the real today)

    def level(self, check_id: str) -> str | None:
        """The level a check's findings get, or None when it is disabled."""
        if check_id in self.disabled:
            return None
        return self.levels.get(check_id, CHECKS[check_id].level)

    def excluded(self, path: str) -> bool:
        p = Path(path).as_posix()
        return any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(p, "*/" + pat) for pat in self.exclude)


def _check_id(name, where: str) -> str:
    c = find(str(name))
    if c is None:
        names = list(CHECKS) + [c.slug for c in CHECKS.values()]
        close = difflib.get_close_matches(str(name), names, n=1)
        raise ConfigError(f"{where}: unknown check {name!r}" +
                          (f"; did you mean {close[0]!r}?" if close else
                           "; 'sigcc lint --list-checks' lists them"))
    return c.id


def _level(value, where: str) -> str:
    if value not in LEVELS:
        raise ConfigError(f"{where}: level {value!r} is not one of {', '.join(LEVELS)}")
    return value


def make_config(disable=(), levels=None, title_max_length: int = 110, exclude=(), now=None,
                where: str = "config") -> LintConfig:
    """A config from plain values (check ids or slugs), checked as a file would be."""
    return LintConfig(frozenset(_check_id(n, where) for n in disable),
                      {_check_id(k, where): _level(v, f"{where}: {k}")
                       for k, v in (levels or {}).items()},
                      title_max_length, tuple(exclude), now)


def load_config(path: str | None = None) -> LintConfig:
    """The config from `path`, else from ./.sigcc-lint.yml if it exists, else the default."""
    if path is None:
        if not Path(DEFAULT_FILE).is_file():
            return LintConfig()
        path = DEFAULT_FILE
    if not Path(path).is_file():
        raise ConfigError(f"{path}: no such config file")
    docs, diags = load_file(path)
    if diags:
        raise ConfigError(diags[0].render())
    if not docs:
        return LintConfig()
    data = docs[0].data

    def at(key) -> str:
        line, col = data.pos(key)
        return f"{path}:{line}:{col}"

    for key in data:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            raise ConfigError(f"{at(key)}: unknown key {key!r}" +
                              (f"; did you mean {close[0]!r}?" if close else
                               f"; keys: {', '.join(KEYS)}"))
    disable = data.get("disable") or []
    levels = data.get("levels") or {}
    exclude = data.get("exclude") or []
    tml = data.get("title_max_length", 110)
    if not isinstance(disable, list):
        raise ConfigError(f"{at('disable')}: disable must be a list of check ids")
    if not isinstance(levels, dict):
        raise ConfigError(f"{at('levels')}: levels must map check ids to error|warning|info")
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise ConfigError(f"{at('exclude')}: exclude must be a list of glob patterns")
    if not isinstance(tml, int) or isinstance(tml, bool) or tml < 1:
        raise ConfigError(f"{at('title_max_length')}: title_max_length must be a positive number")
    return make_config(disable, levels, tml, exclude,
                       where=f"{path}:{data.line}")
