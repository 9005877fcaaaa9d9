"""REST: interface declarations (``model``), auto-CRUD (``autocrud``), the query
grammar, the route table and OpenAPI, independent of the web framework; the
FastAPI adapter lives in ``loom.rest.fastapi``."""
