"""What the engine decides about one ticket, and what it remembers between runs.

:class:`Decision` is the engine's whole answer: the actions (routing, tags,
priority; note bodies are rendered later from the named templates), the
rules and reasons, the inputs that mattered, a paragraph for humans, what was
deliberately not done, the state to store and when to look again.
:class:`EscalationState` is that memory, stored per ticket by the state store
as JSON. Both are pydantic models and round-trip through JSON unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidatorFunctionWrapHandler, computed_field
from pydantic import model_validator

from core.actions import Action
from core.calendar import utc_iso  # noqa: F401 - re-exported for explanations
from core.explanation import explain
from core.model import Priority, Status, System
from core.sla import SlaClock
from core.triggers import KeywordMatch


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__


@dataclass(frozen=True, slots=True)
class _Layout:
    """What :func:`construct` needs to know about a model class, worked out once."""

    names: tuple[str, ...]  # declaration order
    every: set[str]  # the fields set shared by instances built with every field
    required: frozenset[str]
    defaults: tuple[tuple[str, Any, Any], ...]  # (name, default, default_factory)


_LAYOUTS: dict[type, _Layout] = {}


def construct(cls: type[M], values: dict[str, Any]) -> M:
    """``cls.model_construct(**values)`` for values the engine built itself, at a fraction of the cost.

    The result is the same object: fields in declaration order, defaults
    filled in, ``model_fields_set`` the names given. pydantic's own version
    walks every field's aliases first, which costs more than the rest of a
    decision's assembly. ``values`` becomes the model's ``__dict__`` when it
    already lists every field in order, so pass a fresh dict.
    """
    layout = _LAYOUTS.get(cls) or _layout(cls)
    if tuple(values) == layout.names:
        given = layout.every  # shared: pydantic copies a frozen model's fields set before it ever changes one
    else:
        given = set(values)
        if not layout.required <= given <= layout.every:
            raise TypeError(f"{cls.__name__}: needs {sorted(layout.required)}, knows {layout.names}, "
                            f"got {sorted(given)}")
        values = {name: values[name] if name in given else (factory() if factory else default)
                  for name, default, factory in layout.defaults}
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", given)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def _layout(cls: type[BaseModel]) -> _Layout:
    if cls.__pydantic_post_init__ or cls.model_config.get("extra") == "allow" or not cls.model_config.get("frozen"):
        raise TypeError(f"{cls.__name__} needs pydantic's own model_construct")
    fields = cls.model_fields
    _LAYOUTS[cls] = layout = _Layout(
        names=tuple(fields),
        every=set(fields),
        required=frozenset(name for name, f in fields.items() if f.is_required()),
        defaults=tuple((name, f.default, f.default_factory) for name, f in fields.items()),
    )
    return layout


class EscalationRecord(_Frozen):
    """A reason (rule) deskbridge already escalated this ticket for."""

    rule_id: str
    codes: tuple[str, ...]
    first_at: AwareDatetime
    last_at: AwareDatetime
    count: int = 1


class Proposal(_Frozen):
    """A propose-mode escalation awaiting the supervisor's approve or reject tag.

    The ``*_seen_before`` flags remember that a verdict tag was already on the
    ticket when the proposal was made (tags are never removed by deskbridge),
    so only a verdict given after the proposal counts.
    """

    rule_id: str
    codes: tuple[str, ...]
    proposed_at: AwareDatetime
    approve_seen_before: bool = False
    reject_seen_before: bool = False


class EscalationState(_Frozen):
    """deskbridge's memory of one ticket, carried from run to run."""

    level: int = 0  # index in the policy's ladder; only ever goes up
    routed_group: str | None = None  # logical group, or "owner:<email>", deskbridge last routed to
    routed_at: AwareDatetime | None = None
    last_escalated_at: AwareDatetime | None = None
    escalations: dict[str, EscalationRecord] = Field(default_factory=dict)
    cooldowns: dict[str, AwareDatetime] = Field(default_factory=dict)  # rule id -> may act again from
    proposals: dict[str, Proposal] = Field(default_factory=dict)  # open, by rule id
    approved: dict[str, AwareDatetime] = Field(default_factory=dict)
    rejected: dict[str, AwareDatetime] = Field(default_factory=dict)  # never proposed again
    last_customer_message_at: AwareDatetime | None = None


class Reason(_Frozen):
    """Why: a short machine code (``at_risk:resolution``), the rule, and a sentence."""

    code: str
    rule_id: str
    text: str


class DecisionInputs(_Frozen):
    """The facts the decision was made on, kept for the explanation and the decision log."""

    system: System
    status: Status
    priority: Priority
    tier: str
    tier_source: Literal["account", "default"]
    segment: str | None = None
    sla_calendar: str | None = None
    sla: tuple[SlaClock, ...] = ()
    sla_disagreements: tuple[str, ...] = ()
    keywords: tuple[KeywordMatch, ...] = ()
    reopen_count: int = 0
    last_human_activity_at: AwareDatetime | None = None
    level_before: int = 0
    routed_group_before: str | None = None


class Decision(_Frozen):
    """The engine's answer for one ticket at one instant."""

    ticket_ref: str
    evaluated_at: AwareDatetime
    policy_digest: str
    escalate: bool
    mode: Literal["none", "auto", "propose"]
    level: int
    level_name: str
    actions: tuple[Action, ...] = ()
    note_template: str | None = None
    customer_template: str | None = None
    rule_ids: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    inputs: DecisionInputs
    skipped_because: tuple[str, ...] = ()
    new_state: EscalationState
    next_check_at: AwareDatetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def explanation(self) -> str:
        """One paragraph for humans, written when first read (dumped and logged like a field).

        Writing it costs as much as a sixth of the evaluation; replays and
        scheduling read decisions by the thousand and never this.
        """
        return explain(self.__dict__[_TICKET_KEY], self.__dict__)

    @model_validator(mode="wrap")
    @classmethod
    def _read_back(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Decision:
        """A decision read back (JSON, the decision log) brings its explanation with it."""
        if not isinstance(data, dict):
            return handler(data)
        text = data.get("explanation")
        if not isinstance(text, str):
            raise ValueError("explanation: a decision needs its explanation text")
        decision = handler({k: v for k, v in data.items() if k != "explanation"})
        decision.__dict__["explanation"] = text
        return decision

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The machine codes, e.g. for an idempotency key."""
        return tuple(r.code for r in self.reasons)


# Where a decision the engine built keeps the ticket key its explanation names (not a field:
# pydantic ignores it in dumps, comparisons and iteration).
_TICKET_KEY = "_ticket_key"


def decided(fields: dict[str, Any], ticket_key: str) -> Decision:
    """The engine's Decision from its already-validated parts (see :func:`construct`)."""
    decision = construct(Decision, fields)
    decision.__dict__[_TICKET_KEY] = ticket_key
    return decision
