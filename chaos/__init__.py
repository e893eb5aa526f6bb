"""The chaos suite: deskbridge's syncs under faults, kills and busy people, with its invariants checked.

``python -m chaos --rounds N --seed S --tickets T`` runs it against a sandbox of
its own and prints runs, faults injected by kind, kills and violations (which
must be 0). See docs/chaos.md.

The names below are imported on first use, so ``python -m chaos.worker`` (the
sync under test) does not pay for the sandbox and the runner.
"""

from importlib import import_module

_EXPORTS = {
    "ChaosConfig": "chaos.config",
    "ChaosReport": "chaos.report",
    "INVARIANTS": "chaos.invariants",
    "Violation": "chaos.invariants",
    "check": "chaos.invariants",
    "print_report": "chaos.report",
    "run_chaos": "chaos.runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'chaos' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
