"""Coverage-guided fuzzing with atheris (libFuzzer), on demand: `make fuzz`.

    python -m tests.fuzz.run_atheris TARGET [libFuzzer options] [CORPUS_DIR ...]

TARGET is one of tests/fuzz/targets.py's TARGETS (rule, condition, jsonl, json, evtx).
`make fuzz` runs each target for FUZZ_SECONDS (default 60) with its corpus in out/fuzz/TARGET,
seeded from examples/; a crash (a broken property) is written by libFuzzer as crash-<hash>
in the current directory: replay it with `python -m tests.fuzz.run_atheris TARGET crash-...`.
"""
from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    import atheris  # the `fuzz` extra: pip install -e '.[fuzz]'

    if len(argv) < 2:
        raise SystemExit(__doc__)
    name, rest = argv[1], argv[2:]
    with atheris.instrument_imports(include=["sigcc"]):
        from tests.fuzz import targets
        if name not in targets.TARGETS:
            raise SystemExit(f"unknown target {name!r}; choose from {', '.join(targets.TARGETS)}")
        target = targets.TARGETS[name]
        for data in targets.seeds(name):  # sigcc imports some modules lazily: load them here,
            target(data)                  # inside the block, so they are instrumented too
    for d in (a for a in rest if not a.startswith("-")):
        corpus = Path(d)
        if corpus.is_dir() and not any(corpus.iterdir()):  # seed an empty corpus directory
            for i, data in enumerate(targets.seeds(name)):
                (corpus / f"seed-{i}").write_bytes(data)
    atheris.Setup([argv[0], *rest], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
