"""Background jobs: declaration (``job``), dispatch (``service``), results
(``handle``), callbacks (``callback``) and backends."""

from loom.core.job.callback import JobCallback, NullJobCallback
from loom.core.job.handle import JobFailedError, JobGroup, JobHandle, JobTimeoutError
from loom.core.job.job import Job
from loom.core.job.service import InlineJobService, JobService

__all__ = [
    "InlineJobService",
    "Job",
    "JobCallback",
    "JobFailedError",
    "JobGroup",
    "JobHandle",
    "JobService",
    "JobTimeoutError",
    "NullJobCallback",
]
