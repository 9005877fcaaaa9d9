"""Framework errors.

Every error a user can cause is a :class:`LoomError` carrying its HTTP status and a
machine-readable ``code``, so adapters can render RFC 9457 problem documents without
knowing the individual classes. Messages never contain SQL or driver text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from loom.core.naming import to_camel

__all__ = [
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "LoomError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RuleViolation",
    "RuleViolations",
    "ServiceUnavailable",
    "Unauthorized",
    "ValidationError",
]


class FieldError:
    """One failing field: ``{"field": ..., "message": ...}`` on the wire."""

    __slots__ = ("field", "message")

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message}

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FieldError)
            and other.field == self.field
            and other.message == self.message
        )

    def __hash__(self) -> int:
        return hash((self.field, self.message))


class LoomError(Exception):
    """Base of every error Loom turns into a client response."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal Server Error"

    def __init__(self, detail: str | None = None, *, errors: Sequence[FieldError] = ()) -> None:
        self.detail = detail or self.title
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__(self.detail)

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://loom.dev/problems/{self.code.replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors:
            body["errors"] = [e.to_dict() for e in self.errors]
        return body


class BadRequest(LoomError):
    status = 400
    code = "bad_request"
    title = "Bad Request"


class Unauthorized(LoomError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(LoomError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(LoomError):
    status = 404
    code = "not_found"
    title = "Not Found"

    def __init__(
        self, detail: str | None = None, *, model: str | None = None, id: Any = None
    ) -> None:
        if detail is None and model is not None:
            detail = f"{model} {id!r} not found" if id is not None else f"{model} not found"
        super().__init__(detail)


class MethodNotAllowed(LoomError):
    status = 405
    code = "method_not_allowed"
    title = "Method Not Allowed"

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = tuple(sorted(set(allowed)))
        super().__init__(f"allowed methods: {', '.join(self.allowed)}")


class Conflict(LoomError):
    status = 409
    code = "conflict"
    title = "Conflict"

    def __init__(self, detail: str | None = None, *, fields: Sequence[str] = ()) -> None:
        self.fields = tuple(fields)
        """Python names of the columns; the wire ``errors`` name them in camelCase."""
        errors = [FieldError(to_camel(f), detail or "conflict") for f in self.fields]
        super().__init__(detail, errors=errors)


class PayloadTooLarge(LoomError):
    status = 413
    code = "payload_too_large"
    title = "Payload Too Large"


class ValidationError(LoomError):
    """Input that does not fit the declared types: 422 with every failing field."""

    status = 422
    code = "validation_error"
    title = "Validation Error"

    @classmethod
    def single(cls, field: str | None, message: str) -> ValidationError:
        where = f"`{field}`: " if field else ""
        return cls(f"{where}{message}", errors=[FieldError(field, message)])


class RuleViolation(LoomError):
    """One business rule failed. Raise it from ``execute`` for ad-hoc checks."""

    status = 422
    code = "rule_violations"
    title = "Rule Violation"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message, errors=[FieldError(field, message)])


class RuleViolations(RuleViolation):
    """Several declared rules failed; all of them are reported at once."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        LoomError.__init__(self, "; ".join(e.message for e in errors), errors=errors)
        self.field = errors[0].field if errors else None


class ServiceUnavailable(LoomError):
    status = 503
    code = "service_unavailable"
    title = "Service Unavailable"
