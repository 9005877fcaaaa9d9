"""The use-case engine: declared inputs, rules and computes around ``execute``."""

from loom.core.use_case._markers import Exists, Input, LoadById, Marker, OnMissing
from loom.core.use_case._plan import DeclarationError, ExecutionPlan
from loom.core.use_case._rules import Compute, F, FieldRef, Rule

__all__ = [
    "Compute",
    "DeclarationError",
    "ExecutionPlan",
    "Exists",
    "F",
    "FieldRef",
    "Input",
    "LoadById",
    "Marker",
    "OnMissing",
    "Rule",
]
