"""deskbridge's errors, named for what the caller should do next.

::

    DeskbridgeError
    ├── ConfigError                 an admin file is wrong: fix the file (carries every problem found)
    ├── APIError                    talking to an external system failed
    │   ├── RetriableAPIError       429 / 5xx / connection: wait and try again (tenacity does)
    │   │   └── RetryBudgetExceeded the total wait budget ran out: fail this run, the next resumes
    │   ├── FatalAPIError           401 / 403 / bad request: fix credentials or configuration
    │   └── ConflictError           409 / changed concurrency token: re-read and re-plan, never overwrite
    └── PayloadError                one ticket's payload is unusable: quarantine it, continue

Messages name the system, the endpoint or file, and where a credential came
from, never a secret's value.
"""

from __future__ import annotations

from dataclasses import dataclass


class DeskbridgeError(Exception):
    """Base of every error deskbridge raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in an admin-edited file, located precisely."""

    file: str
    line: int | None
    key: str
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.column is not None and self.line is not None:
            where += f":{self.column}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(DeskbridgeError):
    """One or more problems in mapping or policy files; all of them, not only the first."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class APIError(DeskbridgeError):
    """A call to an external system failed."""

    def __init__(self, system: str, endpoint: str, message: str, status: int | None = None):
        self.system = system
        self.endpoint = endpoint
        self.status = status
        code = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{system} {endpoint}{code}: {message}")


class RetriableAPIError(APIError):
    """Rate limited, a server error or a dropped connection: worth another try."""

    def __init__(self, system, endpoint, message, status=None, retry_after: float | None = None):
        super().__init__(system, endpoint, message, status)
        self.retry_after = retry_after


class RetryBudgetExceeded(RetriableAPIError):
    """Retrying would wait longer than the configured budget (shorter than the sync cadence)."""


class FatalAPIError(APIError):
    """Wrong credentials, missing permission or a request the API rejects: retrying cannot help."""


class ConflictError(APIError):
    """The ticket changed since deskbridge read it; re-read and re-plan instead of overwriting."""


class PayloadError(DeskbridgeError):
    """One ticket's payload cannot be normalized; that ticket is quarantined, the rest go on."""

    def __init__(self, system: str, ticket_id: str | None, field: str | None, message: str, *, kind: str = "ticket"):
        self.system = system
        self.ticket_id = ticket_id  # the record's id (an Account id when kind is "account")
        self.field = field
        where = f"{system} {kind} {ticket_id or '?'}"
        if field:
            where += f" field {field!r}"
        super().__init__(f"{where}: {message}")
