"""``UseCaseTest``: one use-case instance run through its real plan, nothing else.

The 0.2 way of unit-testing a use case::

    result = await (
        UseCaseTest(RenameProduct())
        .with_main_repo(products)
        .with_params(product_id=1)
        .with_input(name="Lamp")
        .run()
    )

There is no container, no transaction and no application: the instance you pass is
the one that runs, its markers read from the repositories you give (or the entities
you hand over with :meth:`UseCaseTest.with_loaded`), and its computes and rules are
the compiled ones the application would run, so ``RuleViolations`` and ``NotFound``
come out exactly as they would in production.

The plan is compiled once per test object. Markers are bound to a slot per model
rather than to a repository, so ``with_deps``/``with_loaded`` may be called in any
order, before or after :attr:`UseCaseTest.plan` was first read.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from loom.core.use_case._plan import ExecutionPlan

__all__ = ["UseCaseTest", "compile_plan"]

R = TypeVar("R")

_UNSET: Any = object()


def compile_plan(use_case: type, repo_for: Any) -> ExecutionPlan:
    """The plan the application would compile for ``use_case`` (jobs included)."""
    from loom.core.job.job import Job

    kind = "job" if isinstance(use_case, type) and issubclass(use_case, Job) else "use case"
    return ExecutionPlan(use_case, repo_for=repo_for, kind=kind)


class _Loaded:
    """A stand-in repository answering every read with the entity the test handed over."""

    __slots__ = ("entity",)

    def __init__(self, entity: Any) -> None:
        self.entity = entity

    async def get_by_id(self, id: Any, profile: str = "default") -> Any:
        return self.entity

    async def get_by(self, field: str, value: Any, profile: str = "default") -> Any:
        return self.entity

    async def exists_by(self, field: str, value: Any) -> bool:
        return self.entity is not None

    async def exists(self, id: Any) -> bool:
        return self.entity is not None


class _Slot:
    """What a marker of ``model`` is bound to: the repository the test names at run time."""

    __slots__ = ("model", "owner")

    def __init__(self, owner: UseCaseTest[Any], model: type) -> None:
        self.owner = owner
        self.model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self.owner._repository(self.model), name)

    def __repr__(self) -> str:
        return f"<UseCaseTest repository slot for {self.model.__name__}>"


class UseCaseTest(Generic[R]):
    """Run ``use_case`` (an instance; a class with a no-argument constructor is built)
    through its compiled plan with the inputs and repositories set by the ``with_*``
    builders. Each builder returns the same object, so calls chain."""

    def __init__(self, use_case: Any) -> None:
        if isinstance(use_case, type):
            use_case = use_case()
        self.use_case: Any = use_case
        self._params: dict[str, Any] = {}
        self._payload: dict[str, Any] | None = None
        self._command: Any = _UNSET
        self._loaded: dict[type, _Loaded] = {}
        self._deps: dict[type, Any] = {}
        self._main_repo: Any = _UNSET
        self._plan: ExecutionPlan | None = None

    # -- builders ------------------------------------------------------------------------

    def with_params(self, **params: Any) -> UseCaseTest[R]:
        """Values of ``execute``'s plain parameters (path parameters in HTTP terms)."""
        self._params.update(params)
        return self

    def with_input(self, **payload: Any) -> UseCaseTest[R]:
        """The request body, decoded into the ``Input()`` command as HTTP would
        (snake_case or camelCase keys; only the keys given count as sent)."""
        self._payload = {**(self._payload or {}), **payload}
        self._command = _UNSET
        return self

    def with_command(self, command: Any) -> UseCaseTest[R]:
        """An already-built command; its sent fields are those it was built with."""
        self._command = command
        self._payload = None
        return self

    def with_loaded(self, model: type, entity: Any) -> UseCaseTest[R]:
        """Markers of ``model`` receive ``entity`` without asking a repository
        (``None`` plays a missing row: ``OnMissing.RAISE`` gives ``NotFound``)."""
        self._loaded[model] = _Loaded(entity)
        return self

    def with_deps(self, model: type, repo: Any) -> UseCaseTest[R]:
        """The repository ``Load``/``LoadById``/``Exists`` markers of ``model`` read."""
        self._deps[model] = repo
        return self

    def with_main_repo(self, repo: Any) -> UseCaseTest[R]:
        """The use case's ``main_repo`` (also the markers' repository for its own model)."""
        self._main_repo = repo
        return self

    # -- the plan ------------------------------------------------------------------------

    @property
    def plan(self) -> ExecutionPlan:
        """The compiled plan (declaration errors surface here, as at start-up)."""
        if self._plan is None:
            self._plan = compile_plan(type(self.use_case), self._slot)
        return self._plan

    def _slot(self, model: type) -> Any:
        return _Slot(self, model)

    def _repository(self, model: type) -> Any:
        loaded = self._loaded.get(model)
        if loaded is not None:
            return loaded
        repo = self._deps.get(model)
        if repo is not None:
            return repo
        if model is getattr(self.use_case, "model", None):
            if self._main_repo is not _UNSET:
                return self._main_repo
            try:  # passed to super().__init__(main_repo=...) by the use case itself
                own = getattr(self.use_case, "main_repo", None)
            except RuntimeError:  # 0.2's property raises when nothing was injected
                own = None
            if own is not None:
                return own
        name = getattr(model, "__name__", repr(model))
        raise LookupError(
            f"UseCaseTest({type(self.use_case).__qualname__}): no repository for {name}; "
            f"pass one with .with_deps({name}, repo) or the entity with "
            f".with_loaded({name}, entity)"
        )

    # -- running -------------------------------------------------------------------------

    def _arguments(self, plan: ExecutionPlan) -> tuple[dict[str, Any], Any, Any, Any]:
        params = dict(self._params)
        query: Any = None
        profile: Any = None
        for p in plan.params:
            if p.kind == "query" and p.name in params:
                query = params.pop(p.name)
            elif p.kind == "profile" and p.name in params:
                profile = params.pop(p.name)
        payload: Any = self._command if self._command is not _UNSET else self._payload
        return params, payload, query, profile

    async def run(self) -> R:
        """Execute once; errors (``RuleViolations``, ``NotFound``...) propagate as raised."""
        plan = self.plan
        if self._main_repo is not _UNSET:
            self.use_case.main_repo = self._main_repo
        params, payload, query, profile = self._arguments(plan)
        result: R = await plan.run(self.use_case, params, payload, query, profile)
        return result

    def __repr__(self) -> str:
        return f"UseCaseTest({type(self.use_case).__qualname__})"
