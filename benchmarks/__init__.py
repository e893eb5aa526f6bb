"""deskbridge benchmarks: ``python -m benchmarks`` runs every ``bench_*.py`` module here.

Each module exposes ``main(argv: list[str] | None = None) -> int`` and prints
its own figures together with the machine they were measured on.
"""
