"""Job status endpoints: one job (``job_statuses/{id}``) or several at once (``job_statuses/show_many``).

``GET /api/v2/job_statuses/show_many.json?ids=a,b,c`` answers ``{"job_statuses": [...]}``
with the same job objects as the single endpoint, in the order asked; an id the
account does not know (or no longer keeps: Zendesk keeps job data for a day) is left
out, and no ids means an empty list, as the emulator's other ``show_many`` endpoints
answer; more than 100 ids is ``400 TooManyValues``. Each job listed counts as one poll of
it (:func:`sandbox.zendesk.jobs.poll_state`), so a job answers ``working`` the first
time it is looked at, whichever endpoint looks.
https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/#show-many-job-statuses
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from sandbox.zendesk.http import JSON, error, too_many_values
from sandbox.zendesk.jobs import JobBook, job_json, poll_state
from sandbox.zendesk.paging import base_url

MAX_IDS = 100  # like the other show_many endpoints


def job_routes(jobs: JobBook) -> list[Route]:
    async def job_status(request: Request) -> JSON:
        job = jobs.poll(request.path_params["job_id"])
        if job is None:
            return error(404)
        return JSON({"job_status": job_json(job, base_url(request), state=poll_state(job))})

    async def show_many(request: Request) -> JSON:
        wanted = list(dict.fromkeys(p.strip() for p in request.query_params.get("ids", "").split(",") if p.strip()))
        if len(wanted) > MAX_IDS:
            return too_many_values("ids", MAX_IDS)
        base = base_url(request)
        found = [job for job in map(jobs.poll, wanted) if job is not None]
        return JSON({"job_statuses": [job_json(job, base, state=poll_state(job)) for job in found]})

    return [  # show_many first: the single route's {job_id} would take "show_many" too
        Route("/api/v2/job_statuses/show_many.json", show_many, methods=["GET"]),
        Route("/api/v2/job_statuses/{job_id:str}.json", job_status, methods=["GET"]),
    ]
