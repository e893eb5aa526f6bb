"""The sandbox's servers stay quiet about connections that end on purpose, and loud about real failures."""

from __future__ import annotations

import logging
import sys

from starlette.requests import ClientDisconnect

import sandbox.tls_server  # noqa: F401 - installs the filter on uvicorn's error logger
from sandbox.context import INJECTED_RESET


def record_for(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:  # noqa: BLE001 - captured for the record, as uvicorn does
        info = sys.exc_info()
    return logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (), info)


def shown(error: BaseException) -> bool:
    return all(f.filter(record_for(error)) for f in logging.getLogger("uvicorn.error").filters)


def test_a_client_gone_before_its_body_and_an_injected_reset_are_not_logged_as_failures():
    assert not shown(ClientDisconnect())
    assert not shown(ConnectionResetError(INJECTED_RESET))


def test_other_errors_still_reach_the_log():
    assert shown(ConnectionResetError("a reset nobody injected"))
    assert shown(RuntimeError("an emulator bug"))
