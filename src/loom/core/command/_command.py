"""``Command``: the immutable request payload of a use case or job."""

from __future__ import annotations

import re
import sys
from typing import Any, ClassVar, dataclass_transform

import msgspec

from loom.core._struct import LoomStructMeta
from loom.core.command._codec import codec_for
from loom.core.command._sent import FieldsSetStorage, fields_set, set_fields_set
from loom.core.command._types import COMPUTED, INTERNAL, PATCH, field_role

__all__ = ["Command", "CommandMeta", "fields_set", "set_fields_set"]

_ROLE_TEXT = re.compile(r"^\s*(?:[A-Za-z_]\w*\.)*(?:Patch|Internal|Computed)\[")
_OPTIONAL_ROLES = (PATCH, INTERNAL, COMPUTED)


def _is_optional_role(raw: Any, namespace: dict[str, Any]) -> bool:
    """Whether an annotation is ``Patch``/``Internal``/``Computed`` (as written, or as
    a string under ``from __future__ import annotations``)."""
    if not isinstance(raw, str):
        return field_role(raw) in _OPTIONAL_ROLES
    module = sys.modules.get(str(namespace.get("__module__")))
    scope = {**(vars(module) if module is not None else {}), **namespace}
    try:
        return field_role(eval(raw, scope)) in _OPTIONAL_ROLES
    except Exception:
        return _ROLE_TEXT.match(raw) is not None


class CommandMeta(LoomStructMeta):
    """Loom's struct conventions, plus 0.2's two command rules:

    * a ``Patch``/``Internal``/``Computed`` field without a default is optional (None);
    * fields may be passed positionally, in declaration order, when their order allows
      it (no required field after an optional one); otherwise the class stays
      keyword-only, as msgspec requires, instead of failing.
    """

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> CommandMeta:
        for field, raw in dict(namespace.get("__annotations__", {})).items():
            if field not in namespace and _is_optional_role(raw, namespace):
                namespace[field] = None
        if "kw_only" in kwargs or not any(isinstance(b, CommandMeta) for b in bases):
            return super().__new__(mcls, name, bases, namespace, **kwargs)  # type: ignore[return-value]
        try:
            return super().__new__(mcls, name, bases, dict(namespace), kw_only=False, **kwargs)  # type: ignore[return-value]
        except TypeError as exc:
            if "cannot follow optional fields" not in str(exc):
                raise
        return super().__new__(mcls, name, bases, namespace, kw_only=True, **kwargs)  # type: ignore[return-value]


# frozen_default: subclasses are frozen (LoomStructMeta) whether or not they say so. Not
# kw_only_default: CommandMeta lets fields be passed positionally when their order allows.
@dataclass_transform(frozen_default=True, field_specifiers=(msgspec.field,))
class Command(FieldsSetStorage, metaclass=CommandMeta, kw_only=True, rename="camel", frozen=True):
    """Base of request payloads: frozen, camelCase on the wire.

    ``cmd.__dict__`` maps Python field names to values so a command can be spread
    into another (``Record(user_id=1, **cmd.__dict__)``).
    """

    __loom_command__: ClassVar[bool] = True

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        return {name: getattr(self, name) for name in self.__struct_fields__}

    @classmethod
    def from_payload(cls, payload: Any) -> tuple[Any, frozenset[str]]:
        """``(command, Python names of the fields sent)`` from a dict or JSON bytes.

        Keys may be camelCase or snake_case; unknown keys are ignored; a field that
        does not validate is a 422 ``ValidationError`` naming it.
        """
        codec = codec_for(cls)
        if isinstance(payload, bytes | bytearray | memoryview):
            cmd = codec.decode_json(bytes(payload))
        else:
            cmd = codec.decode(payload)
        return cmd, fields_set(cmd)
