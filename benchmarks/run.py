"""Run every ``benchmarks/bench_*.py`` module's ``main(argv)`` in turn (``make bench``).

Arguments after the script name are passed to every benchmark (e.g. ``--quick``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALONE = {"bench_large.py"}
"""Benchmarks run only on their own (``make bench-large``: minutes and 5.4 GB of disk)."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for path in sorted(HERE.glob("bench_*.py")):
        if path.name in ALONE:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n=== {path.name} ===", flush=True)
        module.main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
