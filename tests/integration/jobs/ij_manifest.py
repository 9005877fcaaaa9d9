"""The store's manifest plus the test-only gated job."""

from ij_gate_jobs import GatedSyncJob

from app.manifest import CALLBACKS, INTERFACES, MODELS, REPOSITORIES, USE_CASES
from app.manifest import JOBS as STORE_JOBS

JOBS = [*STORE_JOBS, GatedSyncJob]

__all__ = ["CALLBACKS", "INTERFACES", "JOBS", "MODELS", "REPOSITORIES", "USE_CASES"]
