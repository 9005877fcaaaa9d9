"""``GoldenHarness`` and ``serialize_plan``: DI-built use cases on fakes, plan snapshots.

``serialize_plan(plan)`` turns a compiled plan into plain, sorted, deterministic data
(no object addresses), so a test can compare it with a checked-in snapshot and see
when a change to a use case's declarations changes what runs before ``execute``.

``GoldenHarness`` runs a use case the way the application does (constructor
injection, ``main_repo``, markers, computes, rules), with repositories replaced by
the fakes you inject (in-memory ones for the rest) and errors forced where you ask.
"""

from __future__ import annotations

import json
import time
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from loom.core.discovery import is_model
from loom.core.repository.abc import RepoFor
from loom.core.repository.registry import registered_repositories
from loom.core.use_case import FieldExpr, FieldRef
from loom.testing._faults import FaultSchedule, system_error
from loom.testing._harness import UseCaseHarness

__all__ = ["GoldenHarness", "serialize_plan"]


# -- serialize_plan ----------------------------------------------------------------------


def _name(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (FieldRef, FieldExpr)):
        return repr(value)  # F(Cmd).a.b, (F(Cmd).a | F(Cmd).b): deterministic and exact
    if isinstance(value, (tuple, list, frozenset, set)):
        items = [_name(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    qualname = getattr(value, "__qualname__", None)
    if isinstance(qualname, str):
        return qualname
    enum_value = getattr(value, "value", None)
    if isinstance(enum_value, (str, int)):
        return enum_value
    ref = getattr(value, "name", None)
    if isinstance(ref, str):
        return ref
    return type(value).__name__


def _marker(p: Any) -> dict[str, Any]:
    marker = p.marker if getattr(p, "marker", None) is not None else p.default
    step: dict[str, Any] = {"param": p.name, "marker": type(marker).__name__}
    for attr in ("model", "by", "from_param", "from_command", "against", "profile", "on_missing"):
        if hasattr(marker, attr):
            step["entity" if attr == "model" else attr] = _name(getattr(marker, attr))
    return step


def _declaration(decl: Any) -> dict[str, Any]:
    """A compute or rule as data: its kind, fields, parameters and function names."""
    if not hasattr(decl, "__slots__") and not hasattr(decl, "__dict__"):
        return {"callable": _name(decl)}
    if callable(decl) and not any(hasattr(decl, a) for a in ("fn", "target", "field", "kind")):
        return {"callable": _name(decl)}  # a plain-callable rule or compute
    out: dict[str, Any] = {"type": type(decl).__name__}
    for attr in (
        "kind",
        "target",
        "targets",
        "field",
        "fields",
        "sources",
        "params",
        "present",
        "when",
        "message",
        "fn",
    ):
        try:
            value = getattr(decl, attr)
        except Exception:
            continue
        if value is None or value == ():
            continue
        out["via" if attr == "fn" else attr] = _name(value)
    return out


def serialize_plan(plan: Any) -> dict[str, Any]:
    """A compiled plan as sorted plain data: ``use_case``, ``param_bindings``,
    ``input_binding``, ``load_steps``, ``exists_steps``, ``compute_steps``, ``rule_steps``.

    Accepts a plan or the ``UseCaseTest`` holding one."""
    plan = getattr(plan, "plan", plan)
    params = list(getattr(plan, "params", ()))
    owner = getattr(plan, "owner", None)
    bindings = []
    input_binding: dict[str, Any] | None = None
    loads = []
    exists = []
    for p in params:
        kind = p.kind
        if kind == "input":
            input_binding = {"param": p.name, "command": _name(p.annotation)}
        elif kind == "load":
            loads.append(_marker(p))
        elif kind == "exists":
            exists.append(_marker(p))
        else:
            has_default = p.default is not _empty() and kind == "param"
            binding: dict[str, Any] = {"param": p.name, "kind": kind}
            if kind == "param":
                binding["type"] = _name(p.annotation) if p.annotation is not _empty() else None
                binding["required"] = not has_default
            bindings.append(binding)
    data = {
        "use_case": getattr(owner, "__qualname__", getattr(plan, "name", None)),
        "param_bindings": bindings,
        "input_binding": input_binding,
        "load_steps": loads,
        "exists_steps": exists,
        "compute_steps": [_declaration(c) for c in getattr(plan, "computes", ())],
        "rule_steps": [_declaration(r) for r in getattr(plan, "rules", ())],
    }
    # Round-trip through JSON with sorted keys: the snapshot is what a file would hold.
    result: dict[str, Any] = json.loads(json.dumps(data, sort_keys=True, default=_name))
    return result


def _empty() -> Any:
    import inspect

    return inspect.Parameter.empty


# -- GoldenHarness -----------------------------------------------------------------------


class GoldenHarness:
    """A use case built by DI and run on fakes, with forced errors and timed baselines.

    ::

        golden = GoldenHarness()
        golden.inject_repo(Product, FakeProducts())
        golden.force_error(Order, "create", Conflict("duplicate"))
        out = await golden.run(PlaceOrder, params={"product_id": 1}, payload={...})

    ``contract`` may be a model, ``RepoFor[Model]``, a repository contract registered
    with ``@repository_for(..., contract=...)`` (or pass ``model=``), or any other
    injectable type (a service the use case's constructor asks for). Configure the
    harness before the first run: later injections rebuild it (and its in-memory data).
    """

    def __init__(self) -> None:
        self._repos: dict[type, Any] = {}
        self._services: dict[Any, Any] = {}
        self._contracts: dict[Any, type] = {}
        self._faults = FaultSchedule()
        self._harness: UseCaseHarness | None = None

    def _model_of(self, contract: Any, model: type | None = None) -> type | None:
        if model is not None:
            return model
        if isinstance(contract, type) and is_model(contract):
            return contract
        if typing.get_origin(contract) is RepoFor:
            (target,) = typing.get_args(contract)
            return target
        known = self._contracts.get(contract)
        if known is not None:
            return known
        for target, registration in registered_repositories().items():
            if contract in (registration.contract, registration.repository):
                return target
        return None

    def inject_repo(self, contract: Any, fake: Any, *, model: type | None = None) -> GoldenHarness:
        """Use ``fake`` wherever ``contract`` (or its model's repository) is asked for."""
        target = self._model_of(contract, model)
        if target is None:
            self._services[contract] = fake
        else:
            self._repos[target] = fake
            if contract is not target:
                self._contracts[contract] = target
        self._harness = None
        return self

    def force_error(
        self, contract: Any, method: str, exc: BaseException | type[BaseException]
    ) -> GoldenHarness:
        """Make ``method`` of ``contract``'s repository (or service) raise ``exc``."""
        target = self._model_of(contract)
        self._faults.add(target if target is not None else contract, method, exc)
        self._harness = None
        return self

    def simulate_system_error(self, contract: Any, method: str) -> GoldenHarness:
        """Make ``method`` fail as an infrastructure error would (a 500 over HTTP)."""
        return self.force_error(contract, method, system_error(contract, method))

    @property
    def harness(self) -> UseCaseHarness:
        """The :class:`UseCaseHarness` underneath (built on first use)."""
        if self._harness is None:
            services: dict[Any, Any] = {}
            for key, service in self._services.items():
                services[key] = self._faults.wrap((key,), service)
            harness = UseCaseHarness(repositories=self._repos, services=services)
            harness._wrap = lambda model, repo: self._faults.wrap((model,), repo)
            for contract, target in self._contracts.items():
                harness.runtime.register_contract(contract, target)
            self._harness = harness
        return self._harness

    def plan(self, use_case: type) -> Any:
        """The plan the application compiles for ``use_case``."""
        harness = self.harness
        harness.instance(use_case)
        return harness.runtime.plan(use_case)

    async def run(
        self,
        use_case: type,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
    ) -> Any:
        """Build ``use_case`` by DI and execute it once; errors propagate."""
        return await self.harness.run(use_case, params=params, payload=payload)

    async def run_with_baseline(
        self,
        use_case: type,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        name: str,
        max_ms: float,
        baseline_dir: str | Path,
    ) -> Any:
        """Run, write ``<baseline_dir>/<name>.json`` (plan, result, elapsed time) and
        assert the run took at most ``max_ms`` milliseconds.

        The plan is compiled (and the use case built) before the clock starts, so the
        figure is the per-call cost, as a request would see it.
        """
        plan = self.plan(use_case)
        started = time.perf_counter()
        result = await self.run(use_case, params=params, payload=payload)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        directory = Path(baseline_dir)
        directory.mkdir(parents=True, exist_ok=True)
        record = {
            "name": name,
            "use_case": use_case.__qualname__,
            "elapsed_ms": round(elapsed_ms, 3),
            "max_ms": max_ms,
            "plan": serialize_plan(plan),
            "result": _builtins(result),
        }
        (directory / f"{name}.json").write_text(
            json.dumps(record, sort_keys=True, indent=2) + "\n", encoding="utf-8"
        )
        assert elapsed_ms <= max_ms, (
            f"{use_case.__qualname__} took {elapsed_ms:.3f} ms, over the {max_ms} ms baseline"
        )
        return result


def _builtins(value: Any) -> Any:
    try:
        return msgspec.to_builtins(value, str_keys=True)
    except (TypeError, msgspec.EncodeError):
        return repr(value)
