"""The sandbox's admin HTTP API: move the clock, script faults, read the logs, act as a human.

Served by :class:`sandbox.runner.Sandbox` on its own port, never behind the
fault middleware, so tests, the demo and the benchmarks can steer the sandbox
while deskbridge talks to the emulators. Routes (JSON in, JSON out):

- ``GET /_admin`` summary; ``GET|POST /_admin/clock`` (``{"set": iso}`` or ``{"advance_seconds": n}``)
- ``GET|POST|DELETE /_admin/faults`` (rules shaped like :class:`sandbox.context.Fault`)
- ``GET /_admin/log/requests?system=&since=``, ``GET /_admin/log/writes?system=&since=&actor=``,
  ``GET /_admin/log/mark`` (the latest sequence number, for ``since=``), ``POST /_admin/reset-logs``
- ``GET|POST /_admin/{system}/tickets``, ``GET /_admin/{system}/tickets/{id}``,
  ``POST /_admin/{system}/tickets/{id}/human``
- ``GET /_admin/salesforce/accounts``, ``POST|DELETE /_admin/salesforce/accounts/{id}``,
  ``POST /_admin/salesforce/expire-sessions``
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.admin_payloads import ClockMove, FaultIn, TicketIn, validation_message
from sandbox.context import SandboxContext
from sandbox.world import World

Handler = Callable[[Request], Awaitable[JSONResponse]]
HELPDESKS = ("zendesk", "servicenow", "jira")


class AdminProblem(Exception):
    """An admin request that cannot be served, with its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _answers(handler: Callable[..., Awaitable[Any]]) -> Handler:
    """Turn a handler's result into JSON and its errors into 400/404 bodies ``{"error": ...}``."""

    @functools.wraps(handler)
    async def endpoint(self: "AdminApi", request: Request) -> JSONResponse:
        try:
            result = await handler(self, request)
        except AdminProblem as problem:
            return JSONResponse({"error": str(problem)}, status_code=problem.status)
        except ValidationError as error:
            return JSONResponse({"error": validation_message(error)}, status_code=400)
        except KeyError as error:
            return JSONResponse({"error": f"not found: {error.args[0] if error.args else ''}"}, status_code=404)
        except (ValueError, TypeError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        if isinstance(result, JSONResponse):
            return result
        return JSONResponse(result)

    return endpoint  # type: ignore[return-value]


class AdminApi:
    """The handlers, bound to one sandbox's context, emulators and world."""

    def __init__(self, ctx: SandboxContext, emulators: Mapping[str, Any], world: World):
        self.ctx, self.emulators, self.world = ctx, emulators, world

    # -- clock, faults, logs -------------------------------------------------------------------

    @_answers
    async def summary(self, request: Request) -> dict:
        return {"seed": self.world.seed, "systems": list(self.emulators), "now": self._now()}

    @_answers
    async def clock(self, request: Request) -> dict:
        return {"now": self._now()}

    @_answers
    async def move_clock(self, request: Request) -> dict:
        move = ClockMove.model_validate(await _json(request))
        if move.set is not None:
            self.ctx.clock.set(move.set)
        else:
            self.ctx.clock.advance(move.advance_seconds or 0)
        return {"now": self._now()}

    @_answers
    async def faults(self, request: Request) -> dict:
        return {"faults": self.ctx.faults.summary()}

    @_answers
    async def add_fault(self, request: Request) -> JSONResponse:
        fault = self.ctx.faults.add(FaultIn.model_validate(await _json(request)).to_fault())
        return JSONResponse({"fault": _fault_dict(fault)}, status_code=201)

    @_answers
    async def clear_faults(self, request: Request) -> dict:
        self.ctx.faults.clear()
        return {"faults": []}

    @_answers
    async def request_log(self, request: Request) -> dict:
        system, since = request.query_params.get("system") or None, _since(request)
        return {"requests": self.ctx.log.query_requests(system, since)}

    @_answers
    async def write_log(self, request: Request) -> dict:
        params = request.query_params
        writes = self.ctx.log.query_writes(params.get("system") or None, _since(request), params.get("actor") or None)
        return {"writes": writes}

    @_answers
    async def log_mark(self, request: Request) -> dict:
        return {"seq": self.ctx.log.last_seq()}

    @_answers
    async def reset_logs(self, request: Request) -> dict:
        self.ctx.log.clear()
        return {"seq": self.ctx.log.last_seq()}

    # -- helpdesk tickets ----------------------------------------------------------------------

    @_answers
    async def ticket_ids(self, request: Request) -> dict:
        return {"ids": [str(i) for i in self._helpdesk(request).ticket_ids()]}

    @_answers
    async def create_ticket(self, request: Request) -> JSONResponse:
        system = request.path_params["system"]
        emulator = self._helpdesk(request)
        payload = TicketIn.model_validate(await _json(request))
        seed = payload.to_seed(system, len(emulator.ticket_ids()) + 1, self.ctx.clock.now(), self.world)
        ticket_id = str(emulator.create(seed))
        return JSONResponse({"id": ticket_id, "ticket": emulator.view(ticket_id)}, status_code=201)

    @_answers
    async def view_ticket(self, request: Request) -> dict:
        return self._helpdesk(request).view(request.path_params["ticket_id"])

    @_answers
    async def human_action(self, request: Request) -> dict:
        action = await _json(request)
        if not isinstance(action, dict) or "action" not in action:
            raise AdminProblem(400, 'a human action is a JSON object with an "action" key')
        emulator, ticket_id = self._helpdesk(request), request.path_params["ticket_id"]
        emulator.view(ticket_id)  # an unknown ticket is a 404 (KeyError) ...
        try:
            return emulator.human(ticket_id, action)
        except KeyError as missing:  # ... while a KeyError from the action itself is a missing field
            raise AdminProblem(400, f"the {action['action']!r} action needs {missing}") from None

    # -- salesforce ----------------------------------------------------------------------------

    @_answers
    async def accounts(self, request: Request) -> dict:
        return {"accounts": self._salesforce().accounts()}

    @_answers
    async def edit_account(self, request: Request) -> dict:
        changes = await _json(request)
        if not isinstance(changes, dict) or not changes:
            raise AdminProblem(400, "give the Account fields to change as a JSON object")
        result = self._salesforce().set_account(request.path_params["account_id"], **changes)
        return {"account": result} if result is not None else {"ok": True}

    @_answers
    async def delete_account(self, request: Request) -> dict:
        self._salesforce().delete_account(request.path_params["account_id"])
        return {"deleted": request.path_params["account_id"]}

    @_answers
    async def expire_sessions(self, request: Request) -> dict:
        self._salesforce().expire_sessions()
        return {"expired": True}

    # -- helpers -------------------------------------------------------------------------------

    def _now(self) -> str:
        return self.ctx.clock.now().isoformat()

    def _helpdesk(self, request: Request) -> Any:
        system = request.path_params["system"]
        if system not in HELPDESKS or system not in self.emulators:
            raise AdminProblem(404, f"no helpdesk emulator {system!r} in this sandbox")
        return self.emulators[system]

    def _salesforce(self) -> Any:
        if "salesforce" not in self.emulators:
            raise AdminProblem(404, "no salesforce emulator in this sandbox")
        return self.emulators["salesforce"]


def build_admin_app(ctx: SandboxContext, emulators: Mapping[str, Any], world: World) -> Starlette:
    """The admin API as a Starlette app (the runner serves it over HTTPS on 127.0.0.1)."""
    api = AdminApi(ctx, emulators, world)
    routes = [
        Route("/_admin", api.summary, methods=["GET"]),
        Route("/_admin/clock", api.clock, methods=["GET"]),
        Route("/_admin/clock", api.move_clock, methods=["POST"]),
        Route("/_admin/faults", api.faults, methods=["GET"]),
        Route("/_admin/faults", api.add_fault, methods=["POST"]),
        Route("/_admin/faults", api.clear_faults, methods=["DELETE"]),
        Route("/_admin/log/requests", api.request_log, methods=["GET"]),
        Route("/_admin/log/writes", api.write_log, methods=["GET"]),
        Route("/_admin/log/mark", api.log_mark, methods=["GET"]),
        Route("/_admin/reset-logs", api.reset_logs, methods=["POST"]),
        Route("/_admin/salesforce/accounts", api.accounts, methods=["GET"]),
        Route("/_admin/salesforce/accounts/{account_id}", api.edit_account, methods=["POST"]),
        Route("/_admin/salesforce/accounts/{account_id}", api.delete_account, methods=["DELETE"]),
        Route("/_admin/salesforce/expire-sessions", api.expire_sessions, methods=["POST"]),
        Route("/_admin/{system}/tickets", api.ticket_ids, methods=["GET"]),
        Route("/_admin/{system}/tickets", api.create_ticket, methods=["POST"]),
        Route("/_admin/{system}/tickets/{ticket_id}", api.view_ticket, methods=["GET"]),
        Route("/_admin/{system}/tickets/{ticket_id}/human", api.human_action, methods=["POST"]),
    ]
    return Starlette(routes=routes)


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except json.JSONDecodeError as error:
        raise AdminProblem(400, f"the body is not JSON: {error.msg}") from None


def _since(request: Request) -> int:
    raw = request.query_params.get("since") or "0"
    if not raw.isdigit():
        raise AdminProblem(400, f"since must be a sequence number, got {raw!r}")
    return int(raw)


def _fault_dict(fault: Any) -> dict:
    return asdict(fault)
