"""``GET /jobs/{job_id}``: where a dispatched job stands, read from its record.

A client that got ``jobId`` from a 202 response polls this resource until
``state`` is ``succeeded`` (``result`` holds the job's return value) or ``failed``
(``errorType``/``error`` hold the last error's type and message, never a traceback).
The prefix is ``jobs.status_path`` (default ``/jobs``; ``false`` turns it off).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from loom.core.errors import NotFound
from loom.rest.asgi._endpoint import problem_response_parts
from loom.rest.asgi._fast_router import LabelledRoute

if TYPE_CHECKING:
    from loom.core.job.store import JobRecord
    from loom.core.runtime import Runtime

__all__ = ["JobStatus", "job_routes"]

_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


class JobStatus(msgspec.Struct, kw_only=True, rename="camel"):
    """The status document of one job (camelCase on the wire, like every output)."""

    job_id: str
    job: str
    queue: str
    state: Literal["pending", "running", "succeeded", "failed"]
    attempts: int
    max_attempts: int
    result: Any = None
    error_type: str | None = None
    error: str | None = None
    trace_id: str | None = None
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @classmethod
    def of(cls, record: JobRecord) -> JobStatus:
        return cls(
            job_id=record.id,
            job=record.job,
            queue=record.queue,
            state=record.state,
            attempts=record.attempts,
            max_attempts=record.max_attempts,
            result=record.result,
            error_type=record.error_type,
            error=record.error,
            trace_id=record.trace_id,
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
        )


_encoder = msgspec.json.Encoder()


def _not_found(job_id: str) -> Response:
    status, _headers, body = problem_response_parts(NotFound(f"job {job_id!r} not found"))
    return Response(body, status_code=status, media_type="application/problem+json")


def _openapi(path: str) -> dict[str, Any]:
    _schemas, components = msgspec.json.schema_components(
        [JobStatus], ref_template="#/components/schemas/{name}"
    )
    body = components["JobStatus"]
    problem = {"content": {"application/problem+json": {"schema": _PROBLEM_REF}}}
    return {
        path: {
            "get": {
                "tags": ["Jobs"],
                "summary": "Status of a dispatched job",
                "description": (
                    "Queue, state (pending, running, succeeded, failed), attempts, the "
                    "result or the last error, and timestamps of a job dispatched by a "
                    "use case (its `jobId`)."
                ),
                "operationId": "get_job_status",
                "parameters": [
                    {
                        "name": "job_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 64},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The job's status.",
                        "content": {"application/json": {"schema": body}},
                    },
                    "404": {"description": "No job has this id.", **problem},
                    "500": {"description": "Unexpected failure.", **problem},
                },
            }
        }
    }


def job_routes(runtime: Runtime) -> tuple[list[BaseRoute], dict[str, Any]]:
    """The status route and its OpenAPI ``paths`` entry (empty when turned off)."""
    prefix = runtime.settings.jobs.status_path
    if not prefix:
        return [], {}
    path = "/" + str(prefix).strip("/") + "/{job_id}"
    service = runtime.job_service

    async def get_job(request: Request) -> Response:
        job_id = str(request.path_params["job_id"])
        if not _JOB_ID.fullmatch(job_id):
            return _not_found(job_id[:64])
        record = await service.status(job_id)
        if record is None:
            return _not_found(job_id)
        return Response(
            _encoder.encode(JobStatus.of(record)),
            media_type="application/json",
            headers={"cache-control": "no-store"},
        )

    route = LabelledRoute(path, endpoint=get_job, methods=["GET"], include_in_schema=False)
    return [route], _openapi(path)
