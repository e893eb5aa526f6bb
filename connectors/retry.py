"""One retry policy for every connector, built once on tenacity.

Layering (write it down where it is set, so attempts never multiply):

- **deskbridge (this module)** retries :class:`~core.errors.RetriableAPIError`
  (429, 5xx, dropped connections) with the server's integer ``Retry-After`` when
  given, exponential backoff with jitter otherwise, up to ``max_attempts`` and
  never waiting longer in total than ``max_total_wait`` — past that it raises
  :class:`~core.errors.RetryBudgetExceeded` naming the system and endpoint, so a
  run fails cleanly instead of sleeping past an SLA.
- **the clients' own retries are switched off or bounded** by each connector:
  zenpy gets ``ratelimit_budget=0`` semantics via a custom session (no 429
  loop), jira ``max_retries=0``, pysnc's urllib3 ``Retry`` is replaced by
  ``Retry(0)``; simple-salesforce has none.
- **Prefect task retries stay at 0 on pull and push tasks**: the next scheduled
  run resumes from the committed cursor and the outbox.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from core.errors import PayloadError, RetriableAPIError, RetryBudgetExceeded

log = logging.getLogger("deskbridge.retry")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Defaults keep the total wait well under a 2-minute sync cadence."""

    max_attempts: int = 6
    max_total_wait: float = 60.0  # seconds of sleeping across all attempts of one call
    base_delay: float = 0.5
    max_delay: float = 20.0
    jitter: float = 0.5  # fraction of the backoff added at random


def _wait_seconds(policy: RetryPolicy, rng: random.Random) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None and retry_after > 0:
            return float(retry_after)
        backoff = min(policy.max_delay, policy.base_delay * 2 ** (state.attempt_number - 1))
        return backoff * (1 + policy.jitter * rng.random())

    return wait


def _stop(policy: RetryPolicy) -> Callable[[RetryCallState], bool]:
    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        return state.idle_for + state.upcoming_sleep > policy.max_total_wait

    return stop


def call_with_retry(
    fn: Callable[[], T],
    *,
    system: str,
    endpoint: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    payload_retries: int = 0,
) -> T:
    """Call ``fn`` (which raises deskbridge's typed errors) under the retry policy.

    Non-retriable errors pass straight through. When attempts or the wait budget
    run out, the last retriable error is re-raised as RetryBudgetExceeded. An
    unreadable body (PayloadError) is asked for again ``payload_retries`` times,
    at once: set it only for reads, which are safe to repeat.
    """

    def give_up(state: RetryCallState) -> T:
        last = state.outcome.exception() if state.outcome else None
        waited = state.idle_for
        raise RetryBudgetExceeded(
            system,
            endpoint,
            f"gave up after {state.attempt_number} attempts and {waited:.1f}s of waiting "
            f"(budget {policy.max_total_wait:.0f}s, {policy.max_attempts} attempts): {last}",
            status=getattr(last, "status", None),
        ) from last

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s %s: %s; retrying in %.1fs (attempt %d of %d)",
            system, endpoint, type(exc).__name__, state.upcoming_sleep, state.attempt_number, policy.max_attempts,
        )

    retrying = Retrying(
        retry=retry_if_exception_type(RetriableAPIError),
        wait=_wait_seconds(policy, rng or random.Random()),
        stop=_stop(policy),
        sleep=sleep,
        before_sleep=before_sleep,
        retry_error_callback=give_up,
        reraise=False,
    )
    for asked in range(payload_retries + 1):
        try:
            return retrying(fn)
        except PayloadError as exc:
            if asked == payload_retries:
                raise
            logging.getLogger(f"deskbridge.{system}").warning("%s %s: %s; asking once more", system, endpoint, exc)
    raise AssertionError("unreachable")
