"""The REST adapter's Starlette-level parts: what serves a request without FastAPI.

Loom's own routes never go through FastAPI's request handling: a raw ASGI dispatcher
answers them, and the middleware around it speaks plain ASGI. Those parts live here,
apart from the FastAPI shell (``loom.rest.fastapi``: the app class, Swagger UI,
``create_app``), so that no module of this package imports FastAPI and a second
shell (plain Starlette, another ASGI framework) could reuse them as they are. They
import Starlette, msgspec and ``loom.core``/``loom.rest`` only; a test holds that
(``tests/unit/test_layering.py``).

- ``_endpoint``: ``MethodDispatcher``, one ASGI endpoint per URL template, and the
  problem documents every part renders its errors with.
- ``_fast_router``: ``LoomRouteMiddleware``, which routes to the dispatchers before
  the shell's own middleware and router.
- ``_idempotency``: ``Idempotency-Key`` on POST routes.
- ``_observability``: request ids, access logs, metrics, spans, health routes.
- ``_jobs``: ``GET /jobs/{job_id}``.

The modules are private to Loom: a shell imports them by module path. This file
imports nothing, so importing one part does not load the others.
"""
