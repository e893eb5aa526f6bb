"""core.history.merge_history: a pull that carries only recent activity keeps the older conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.history import merge_history
from core.model import Comment, EventKind, HistoryEvent, Priority, Role, Status, System, Ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _comment(i: int, role: Role, minutes: int, public: bool = True, cid: str | None = None) -> Comment:
    return Comment(id=cid or f"c{i}", author_id=f"u{i}", role=role, public=public, body=f"text {i}",
                   created_at=T0 + timedelta(minutes=minutes))


def _ticket(comments=(), history=(), first_reply=None, token="1") -> Ticket:
    return Ticket(system=System.zendesk, id="7", key="#7", status=Status.open, native_status="open",
                  priority=Priority.normal, created_at=T0, updated_at=T0 + timedelta(hours=1),
                  concurrency_token=token, comments=tuple(comments), history=tuple(history),
                  first_agent_reply_at=first_reply)


def test_an_earlier_agent_reply_survives_a_pull_that_only_has_new_activity():
    reply = _comment(1, Role.agent, 10)
    stored = _ticket([_comment(0, Role.customer, 0), reply], first_reply=reply.created_at)
    pulled = _ticket([_comment(2, Role.customer, 50)], token="2")
    merged = merge_history(stored, pulled)
    assert [c.body for c in merged.comments] == ["text 0", "text 1", "text 2"]
    assert merged.first_agent_reply_at == reply.created_at
    assert merged.concurrency_token == "2"  # everything else comes from the pull


def test_the_same_comment_under_another_id_is_kept_once():
    stored = _ticket([_comment(1, Role.agent, 10, cid="audit-5")])
    pulled = _ticket([_comment(1, Role.agent, 10, cid="event-9")])
    assert len(merge_history(stored, pulled).comments) == 1


def test_history_events_are_united_in_time_order():
    reopen = HistoryEvent(kind=EventKind.reopen, at=T0 + timedelta(minutes=5), from_value="solved", to_value="open")
    change = HistoryEvent(kind=EventKind.group_change, at=T0 + timedelta(minutes=40), from_value="1", to_value="2")
    merged = merge_history(_ticket(history=[reopen]), _ticket(history=[change]))
    assert merged.history == (reopen, change) and merged.reopen_count == 1


def test_complete_pull_or_unknown_ticket_is_returned_as_is():
    pulled = _ticket([_comment(0, Role.customer, 0)])
    assert merge_history(None, pulled) is pulled
    assert merge_history(pulled, pulled) is pulled


def test_priority_set_by_people_unwinds_only_deskbridges_own_raises():
    from core.history import priority_set_by_people

    def change(minutes, old, new, ours):
        return HistoryEvent(kind=EventKind.priority_change, at=T0 + timedelta(minutes=minutes), from_value=old,
                            to_value=new, by_deskbridge=ours)

    raised_twice = _ticket(history=[change(1, "low", "normal", False), change(5, "normal", "high", True),
                                    change(9, "high", "urgent", True)]).model_copy(update={"priority": Priority.urgent})
    assert priority_set_by_people(raised_twice) is Priority.normal
    person_last = _ticket(history=[change(5, "normal", "high", True), change(9, "high", "urgent", False)])
    assert priority_set_by_people(person_last.model_copy(update={"priority": Priority.urgent})) is Priority.urgent
    assert priority_set_by_people(_ticket()) is Priority.normal


def _partial(since_minutes: int | None, updated_minutes: int = 60, comments=()) -> Ticket:
    since = None if since_minutes is None else T0 + timedelta(minutes=since_minutes)
    return _ticket(comments).model_copy(update={"history_since": since,
                                                "updated_at": T0 + timedelta(minutes=updated_minutes)})


def test_a_partial_pull_merged_with_a_complete_snapshot_that_reaches_it_is_complete():
    stored = _partial(None, updated_minutes=60)  # complete up to minute 60
    pulled = _partial(55, updated_minutes=90, comments=[_comment(1, Role.customer, 70)])  # minute 55 on
    assert merge_history(stored, pulled).history_since is None


def test_a_gap_between_the_snapshot_and_the_pull_keeps_the_history_partial():
    stored = _partial(None, updated_minutes=30)  # complete up to minute 30 only
    pulled = _partial(55, updated_minutes=90)
    assert merge_history(stored, pulled).history_since == T0 + timedelta(minutes=55)


def test_a_partial_snapshot_passes_its_own_start_on():
    stored = _partial(20, updated_minutes=60)
    pulled = _partial(55, updated_minutes=90)
    assert merge_history(stored, pulled).history_since == T0 + timedelta(minutes=20)
    assert merge_history(None, pulled).history_since == T0 + timedelta(minutes=55)


def test_a_complete_pull_stays_complete_whatever_was_stored():
    assert merge_history(_partial(20), _partial(None, updated_minutes=90)).history_since is None


def test_a_snapshot_stored_after_its_last_change_reaches_the_moment_it_was_stored():
    # Stored at minute 80 though last changed at minute 30: a pull window from minute 55 leaves no gap.
    stored = _partial(None, updated_minutes=30)
    pulled = _partial(55, updated_minutes=90)
    assert merge_history(stored, pulled, stored_through=T0 + timedelta(minutes=80)).history_since is None
    assert merge_history(stored, pulled, stored_through=T0 + timedelta(minutes=50)).history_since == \
        T0 + timedelta(minutes=55)
