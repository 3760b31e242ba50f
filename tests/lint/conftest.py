import datetime

import pytest

from sigcc.lint import make_config
from sigcc.lint.engine import lint

TODAY = datetime.date(2026, 1, 1)

BASE = """\
title: Suspicious Whoami Execution
id: 5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b
status: test
description: Detects whoami started by an unusual parent
references:
    - https://example.org/whoami
author: Jane Doe
date: 2024-01-15
modified: 2024-02-01
tags:
    - attack.discovery
    - attack.t1033
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\whoami.exe'
        CommandLine|contains:
            - '/all'
            - '/priv'
    filter_main:
        ParentImage|endswith: '\\explorer.exe'
    condition: selection and not filter_main
falsepositives:
    - Administrators
level: medium
"""


def lint_texts(tmp_path, texts, **config):
    """Lint rule texts written to files in tmp_path; returns the findings."""
    paths = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(texts):
        p = tmp_path / f"rule_{i}.yml"
        p.write_text(t, encoding="utf-8")
        paths.append(str(p))
    return lint(paths, make_config(now=TODAY, **config)).findings


@pytest.fixture
def base():
    return BASE
