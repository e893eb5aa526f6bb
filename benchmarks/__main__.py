"""Run the benchmarks: ``python -m benchmarks [NAME ...] [-- ARGS ...]``.

Without names every ``bench_*.py`` module in this package runs, in name
order; ``NAME`` is the part after ``bench_`` (``evaluate`` for
``bench_evaluate.py``). Anything after ``--`` is passed to each module's
``main(argv)``. Adding a benchmark is adding a module: nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def discover() -> dict[str, str]:
    """Benchmark name -> module name, for every bench_*.py beside this file."""
    return {
        info.name.removeprefix("bench_"): f"benchmarks.{info.name}"
        for info in sorted(pkgutil.iter_modules([str(PACKAGE)]), key=lambda i: i.name)
        if info.name.startswith("bench_")
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names, passed = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    available = discover()
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    status = 0
    for name in names or list(available):
        print(f"== benchmark: {name}", flush=True)
        status |= importlib.import_module(available[name]).main(passed) or 0
    return status


if __name__ == "__main__":
    raise SystemExit(main())
