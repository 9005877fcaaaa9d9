"""Framework errors.

The constructors are 0.2's (``LoomError(message, *, code)``, ``NotFound(entity, *,
id)``, ``RuleViolation(field, message)``, ``RuleViolations(violations)``) and Loom's
earlier forms keep working. Every error a user can cause is a :class:`LoomError`
carrying its HTTP status and a machine-readable ``code``, so adapters can render RFC
9457 problem documents without knowing the individual classes. Messages never contain
SQL or driver text.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any

from loom.core.naming import to_camel

__all__ = [
    "BadRequest",
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "LoomError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RuleViolation",
    "RuleViolations",
    "ServiceUnavailable",
    "SystemError",
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
    """Base of every error Loom turns into a client response.

    ``LoomError(message, *, code=...)`` (0.2's form) and ``LoomError(detail, *,
    errors=...)`` (Loom's) are the same constructor: ``message`` and ``detail`` name one
    text, and ``code`` overrides the class's code for this instance.
    """

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal Server Error"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        detail: str | None = None,
    ) -> None:
        self.detail = message or detail or self.title
        if code is not None:
            self.code = code
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__(self.detail)

    @property
    def message(self) -> str:
        """The human-readable text (the problem document's ``detail``)."""
        return self.detail

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


class DomainError(LoomError):
    """A business error the client caused: 400 unless a subclass says otherwise."""

    status = 400
    code = "domain_error"
    title = "Bad Request"


class SystemError(LoomError):
    """A failure on the server's side that the application reports on purpose: 500.

    It shadows the builtin inside this module only; 0.2 applications import it by
    this name."""

    status = 500
    code = "system_error"
    title = "Internal Server Error"


class BadRequest(DomainError):
    status = 400
    code = "bad_request"
    title = "Bad Request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


_NO_ID: Any = object()


class NotFound(DomainError):
    """``NotFound("User", id=7)``: "User with id=7 not found", with ``.entity``/``.id``.

    Loom's forms stay: ``NotFound(model="User", id=7)`` is the same error, and a single
    positional text without ``id=`` is taken as the whole message.
    """

    status = 404
    code = "not_found"
    title = "Not Found"

    def __init__(
        self,
        entity: Any = None,
        *,
        id: Any = _NO_ID,
        model: Any = None,
        detail: str | None = None,
    ) -> None:
        if model is not None and entity is None:
            entity = model
        if entity is not None and id is _NO_ID and model is None and isinstance(entity, str):
            # Loom's ``NotFound("no such job")``: the text is the message, no entity.
            detail, entity = detail or entity, None
        name = entity if entity is None or isinstance(entity, str) else entity.__name__
        self.entity: str | None = name
        self.id: Any = None if id is _NO_ID else id
        if detail is None and name is not None:
            detail = (
                f"{name} with id={self.id!r} not found"
                if id is not _NO_ID
                else (f"{name} not found")
            )
        super().__init__(detail)


class MethodNotAllowed(DomainError):
    status = 405
    code = "method_not_allowed"
    title = "Method Not Allowed"

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = tuple(sorted(set(allowed)))
        super().__init__(f"allowed methods: {', '.join(self.allowed)}")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: Sequence[str] = (),
        detail: str | None = None,
        code: str | None = None,
    ) -> None:
        message = message or detail
        self.fields = tuple(fields)
        """Python names of the columns; the wire ``errors`` name them in camelCase."""
        errors = [FieldError(to_camel(f), message or "conflict") for f in self.fields]
        super().__init__(message, code=code, errors=errors)


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    title = "Payload Too Large"


class ValidationError(DomainError):
    """Input that does not fit the declared types: 422 with every failing field."""

    status = 422
    code = "validation_error"
    title = "Validation Error"

    @classmethod
    def single(cls, field: str | None, message: str) -> ValidationError:
        where = f"`{field}`: " if field else ""
        return cls(f"{where}{message}", errors=[FieldError(field, message)])


class RuleViolation(DomainError):
    """One business rule failed: ``RuleViolation("email", "already taken")`` (0.2's
    ``(field, message)``), or Loom's ``RuleViolation("already taken", field="email")``.

    Two positional texts are ``(field, message)``; one positional text is the message
    unless ``message=`` is also given. ``str()`` is ``"field: message"``.
    """

    status = 422
    code = "rule_violation"
    title = "Rule Violation"

    def __init__(self, *args: str | None, **kwargs: str | None) -> None:
        field, message = _violation_args(args, kwargs)
        self.field: str | None = field
        super().__init__(message, errors=[FieldError(field, message)])
        self.detail = message

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.field!r}, {self.detail!r})"


def _violation_args(
    args: tuple[str | None, ...], kwargs: dict[str, str | None]
) -> tuple[str | None, str]:
    unknown = set(kwargs) - {"field", "message"}
    if unknown or len(args) > 2:
        raise TypeError(
            "RuleViolation takes (field, message), or (message, *, field=None); "
            f"got {len(args)} positional and {sorted(kwargs)} keyword arguments"
        )
    if len(args) == 2:
        if kwargs:
            raise TypeError("RuleViolation(field, message): no keywords with two positionals")
        field, message = args
    elif len(args) == 1:
        if "message" in kwargs:
            field, message = args[0], kwargs["message"]
        else:
            message, field = args[0], kwargs.get("field")
    else:
        field, message = kwargs.get("field"), kwargs.get("message")
    if message is None:
        raise TypeError("RuleViolation needs a message")
    return field, str(message)


# What inspect (and so a 0.2 signature check) shows: 0.2's parameters.
RuleViolation.__init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("field", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str"),
        inspect.Parameter("message", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str"),
    ]
)


class RuleViolations(RuleViolation):
    """Every failed rule of one call, reported at once (``.violations``; ``.errors``
    holds the same as wire entries)."""

    code = "rule_violations"
    title = "Rule Violation"

    def __init__(
        self,
        violations: Sequence[RuleViolation | FieldError] = (),
        *,
        errors: Sequence[RuleViolation | FieldError] = (),
    ) -> None:
        items: list[RuleViolation] = []
        for item in (*violations, *errors):
            if isinstance(item, RuleViolations):
                items.extend(item.violations)
            elif isinstance(item, RuleViolation):
                items.append(item)
            else:
                items.append(RuleViolation(item.field, item.message))
        self.violations: tuple[RuleViolation, ...] = tuple(items)
        fields = [FieldError(v.field, v.detail) for v in items]
        LoomError.__init__(self, "; ".join(e.message for e in fields), errors=fields)
        self.field = fields[0].field if fields else None

    def __str__(self) -> str:
        return "; ".join(str(v) for v in self.violations)

    def __repr__(self) -> str:
        return f"RuleViolations({list(self.violations)!r})"


class ServiceUnavailable(SystemError):
    status = 503
    code = "service_unavailable"
    title = "Service Unavailable"
