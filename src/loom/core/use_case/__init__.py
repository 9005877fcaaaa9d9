"""The use-case engine: declared inputs, loads, computes and rules around ``execute``.

Per call: parameters, the command, ``Load``/``LoadById``, ``Exists``, computes,
rules (every violation reported together), then ``execute``.
"""

from loom.core.errors import RuleViolation, RuleViolations
from loom.core.use_case._markers import Exists, Input, Load, LoadById, Marker, OnMissing
from loom.core.use_case._plan import DeclarationError, ExecutionPlan
from loom.core.use_case._rules import (
    Compute,
    ComputeFn,
    F,
    FieldExpr,
    FieldRef,
    PredicateOp,
    Rule,
    RuleFn,
)
from loom.core.use_case.constants import CrudOp
from loom.core.use_case.keys import model_entity_key, use_case_key
from loom.core.use_case.use_case import UseCase

__all__ = [
    "Compute",
    "ComputeFn",
    "CrudOp",
    "DeclarationError",
    "ExecutionPlan",
    "Exists",
    "F",
    "FieldExpr",
    "FieldRef",
    "Input",
    "Load",
    "LoadById",
    "Marker",
    "OnMissing",
    "PredicateOp",
    "Rule",
    "RuleFn",
    "RuleViolation",
    "RuleViolations",
    "UseCase",
    "model_entity_key",
    "use_case_key",
]
