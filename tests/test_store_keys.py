"""Idempotency keys, secret-free payload excerpts and the store package's public surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import core.store
from core.markers import find_markers, marker
from core.model import System
from core.store import idempotency_key, payload_excerpt, time_bucket
from core.store.store import Transaction

AT = datetime(2026, 3, 2, 9, 7, tzinfo=UTC)


def test_the_same_escalation_step_always_gets_the_same_key():
    key = idempotency_key(System.zendesk, "123", ["sla_at_risk", "vip"], 2, 4711)
    assert key == idempotency_key("zendesk", "123", ["vip", "sla_at_risk", "vip"], 2, "4711")
    assert key.startswith("zd-l2-") and len(key) == len("zd-l2-") + 20


@pytest.mark.parametrize(
    "change",
    [
        {"system": System.jira},
        {"ticket_id": "124"},
        {"reason_codes": ["sla_at_risk"]},
        {"level": 3},
        {"decision_time_bucket": 4712},
    ],
)
def test_any_part_of_the_step_changes_the_key(change):
    base = dict(system=System.zendesk, ticket_id="123", reason_codes=["sla_at_risk", "vip"], level=2,
                decision_time_bucket=4711)  # fmt: skip
    assert idempotency_key(**(base | change)) != idempotency_key(**base)


def test_keys_travel_in_a_marker_and_as_a_tag():
    for system in System:
        key = idempotency_key(system, "a9f1c2 / weird:id", ["r"], 1, 0)
        assert find_markers(f"note\n{marker(key)}") == {key}
        assert key == key.lower() and " " not in key


def test_time_bucket_groups_instants_into_windows():
    width = timedelta(minutes=15)
    assert time_bucket(AT, width) == time_bucket(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), width)
    assert time_bucket(AT, width) + 1 == time_bucket(datetime(2026, 3, 2, 9, 15, tzinfo=UTC), width)
    with pytest.raises(ValueError):
        time_bucket(AT.replace(tzinfo=None), width)
    with pytest.raises(ValueError):
        time_bucket(AT, timedelta(0))


def test_payload_excerpts_mask_secrets_and_stay_short():
    payload = {
        "ticket": {"id": 1, "subject": "x" * 2000},
        "headers": {"Authorization": "Basic dXNlcjpwYXNz", "X-Api-Key": "k-123"},
        "auth": {"user": "bot", "password": "pw-1"},
        "session_id": "s-9",
        "author_id": 42,
    }
    text = payload_excerpt(payload, limit=300)
    assert len(text) == 300 and text.endswith("…")
    full = payload_excerpt(payload, limit=10_000)
    for secret in ("dXNlcjpwYXNz", "k-123", "pw-1", "s-9"):
        assert secret not in full
    assert '"author_id": 42' in full  # "author" is not "auth"
    raw = payload_excerpt('not json: Authorization: Bearer abc.def password="p w" ok')
    assert "abc.def" not in raw and "p w" not in raw and raw.endswith("ok")
    assert payload_excerpt(b'{"token": "t"}') == '{"token": "***"}'
    assert payload_excerpt(None) is None


def test_public_surface_is_exported():
    for name in core.store.__all__:
        assert getattr(core.store, name) is not None


def test_repository_mixins_never_shadow_each_others_names():
    seen: dict[str, str] = {}
    for mixin in Transaction.__mro__[1:]:
        if mixin.__module__.startswith("core.store.") and mixin.__name__.endswith("Ops"):
            for name in vars(mixin):
                if not name.startswith("__"):
                    assert name not in seen, f"{mixin.__name__}.{name} shadows {seen[name]}.{name}"
                    seen[name] = mixin.__name__
    assert "outbox_add" in seen and "upsert_ticket" in seen
