"""pytest fixture for Prefect's own test API (registered in conftest.py).

- ``prefect_api`` (module): ``prefect_test_harness``, a temporary Prefect API (SQLite) for the flow runs, blocks
  and artifacts of one test module. Prefect is imported when a test asks for it, not at collection.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[None]:
    """Prefect's own test harness: a temporary API for this module's flow runs, blocks and artifacts."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
