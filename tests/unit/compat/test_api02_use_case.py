"""0.2 signature pins and behaviour of ``loom.core.use_case`` (+ invoker, keys)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from loom.core.command import Command, Patch
from loom.core.errors import NotFound, ValidationError
from loom.core.model import BaseModel, ColumnField
from loom.core.repository.abc.query import FilterGroup, FilterSpec, QuerySpec
from loom.core.runtime import Components, Runtime
from loom.core.use_case import (
    Compute,
    ComputeFn,
    Exists,
    F,
    Input,
    Load,
    LoadById,
    OnMissing,
    PredicateOp,
    Rule,
    RuleFn,
    RuleViolation,
    RuleViolations,
    UseCase,
)
from loom.core.use_case import use_case as use_case_module
from loom.core.use_case.constants import CrudOp
from loom.core.use_case.invoker import AppInvoker, ApplicationInvoker, EntityInvoker
from loom.core.use_case.keys import model_entity_key, use_case_key
from loom.testing import InMemoryRepository

_E = inspect.Parameter.empty
_KW = inspect.Parameter.KEYWORD_ONLY


def _sig(fn: Any) -> dict[str, tuple[Any, Any]]:
    return {n: (p.default, p.kind) for n, p in inspect.signature(fn).parameters.items()}


def test_package_exports() -> None:
    assert use_case_module.UseCase is UseCase
    assert {PredicateOp.OR, PredicateOp.AND} == set(PredicateOp)
    assert RuleFn is not None and ComputeFn is not None
    assert issubclass(RuleViolations, RuleViolation)
    assert AppInvoker is ApplicationInvoker
    assert {op.value for op in CrudOp} == {"create", "get", "list", "update", "delete"}


def test_marker_signatures() -> None:
    load = _sig(Load)
    assert load["entity_type"][0] is _E
    assert load["from_param"] == (None, _KW) and load["from_command"] == (None, _KW)
    assert load["against"] == (_E, _KW)
    assert load["profile"] == ("default", _KW) and load["on_missing"] == (OnMissing.RAISE, _KW)
    by_id = _sig(LoadById)
    assert by_id["by"] == ("id", _KW) and by_id["profile"] == ("default", _KW)
    assert by_id["on_missing"] == (OnMissing.RAISE, _KW)
    exists = _sig(Exists)
    assert exists["from_param"] == (None, _KW) and exists["from_command"] == (None, _KW)
    assert exists["against"][1] is _KW
    assert exists["on_missing"] == (OnMissing.RETURN_FALSE, _KW)


def test_dsl_signatures() -> None:
    check = _sig(Rule.check)
    assert check["targets"][1] is inspect.Parameter.VAR_POSITIONAL
    assert check["via"] == (_E, _KW) and check["message"] == (None, _KW)
    assert _sig(Rule.forbid) == {
        "condition": (_E, inspect.Parameter.POSITIONAL_OR_KEYWORD),
        "message": (_E, _KW),
    }
    required = _sig(Rule.require_present)
    assert required["field"] == (None, _KW) and required["message"] == (None, _KW)
    assert list(_sig(Compute.set)) == ["target"]
    from_command = _sig(Compute.set(F("x").y).from_command)
    assert from_command["via"] == (None, _KW)


def test_use_case_and_invoker_signatures() -> None:
    assert _sig(UseCase.__init__)["main_repo"][0] is None
    assert UseCase.read_only is False and UseCase.rules == () and UseCase.computes == ()
    invoke = _sig(ApplicationInvoker.invoke)
    assert invoke["params"][0] is None and invoke["payload"][0] is None
    invoke_name = _sig(ApplicationInvoker.invoke_name)
    assert invoke_name["params"] == (None, _KW) and invoke_name["payload"] == (None, _KW)
    assert {"params"} <= set(_sig(EntityInvoker.get))
    assert {"params", "payload"} <= set(_sig(EntityInvoker.update))
    assert {"params", "payload"} <= set(_sig(EntityInvoker.list))


# -- behaviour ----------------------------------------------------------------------


class Shop(BaseModel):
    __tablename__ = "c02_shops"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=60)
    slug: str = ColumnField(length=60, unique=True)


class ProductReview(BaseModel):
    __tablename__ = "c02_product_reviews"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    shop_id: int = ColumnField(foreign_key="c02_shops.id")
    stars: int = ColumnField(default=3)


class Review(Command, frozen=True):
    shop_slug: str
    stars: int
    text: Patch[str] = None


def _stars_in_range(stars: int) -> str | None:
    return None if 1 <= stars <= 5 else "stars must be between 1 and 5"


@use_case_key("reviews.create")
class CreateReview(UseCase[ProductReview, ProductReview]):
    computes = (
        Compute.set(F(Review).text)
        .from_command(F(Review).text, via=str.strip)
        .when_present(F(Review).text),
    )
    rules = (
        Rule.check(F(Review).stars, via=_stars_in_range),
        Rule.check(F(Review).text, via=lambda t: len(t) > 20, message="too long").when_present(
            F(Review).text
        ),
    )

    def __init__(self, reviews: Any = None) -> None:
        super().__init__(main_repo=None)

    async def execute(
        self,
        cmd: Review = Input(),
        shop: Shop = Load(Shop, from_command="shop_slug", against="slug"),
    ) -> ProductReview:
        self.note = cmd.text  # per-call state on self is safe
        return await self.main_repo.create({"shop_id": shop.id, "stars": cmd.stars})


def _runtime(*use_cases: type) -> Runtime:
    def factory(model: type, _c: Any) -> InMemoryRepository[Any]:
        return InMemoryRepository(model)

    rt = Runtime(
        components=Components(models=[Shop, ProductReview], use_cases=use_cases),
        repository_factory=factory,
    )
    rt.prepare()
    return rt


async def test_a_use_case_written_for_0_2() -> None:
    runtime = _runtime(CreateReview)
    shop = await runtime.repo_for(Shop).create({"name": "S", "slug": "s"})
    review = await runtime.invoker.invoke(
        CreateReview, params={}, payload={"shopSlug": "s", "stars": 4, "text": " nice "}
    )
    assert (review.shop_id, review.stars) == (shop.id, 4)
    with pytest.raises(RuleViolations) as info:
        await runtime.invoker.invoke(
            CreateReview, payload={"shop_slug": "s", "stars": 9, "text": "x" * 30}
        )
    assert [(v.field, v.message) for v in info.value.violations] == [
        ("stars", "stars must be between 1 and 5"),
        ("text", "too long"),
    ]
    with pytest.raises(NotFound) as missing:
        await runtime.invoker.invoke(CreateReview, payload={"shopSlug": "nope", "stars": 1})
    assert missing.value.entity == "Shop"


async def test_invoke_name_by_declared_key_and_auto_crud_key() -> None:
    from loom.rest.autocrud import auto_use_cases

    runtime = _runtime(CreateReview)
    for cls in auto_use_cases(Shop).values():  # what a REST app with auto routes builds
        runtime.plan(cls)
        runtime.instance(cls)
    created = await runtime.invoker.invoke_name("shop:create", payload={"name": "A", "slug": "a"})
    got = await runtime.invoker.invoke_name("shop:get", params={"id": created.id})
    assert got.slug == "a"
    review = await runtime.invoker.invoke_name(
        "reviews.create", payload={"shopSlug": "a", "stars": 5}
    )
    assert review.stars == 5
    page = await runtime.invoker.invoke_name(
        "shop:list",
        params={
            "query": QuerySpec(filters=FilterGroup(filters=(FilterSpec(field="slug", value="a"),)))
        },
    )
    assert [s.slug for s in page.items] == ["a"]
    with pytest.raises(KeyError):
        await runtime.invoker.invoke_name("no:such")
    # A model without auto routes still answers to its CRUD keys (a worker has no REST).
    assert model_entity_key(ProductReview) == "product_review"
    fetched = await runtime.invoker.invoke_name("product_review:get", params={"id": review.id})
    assert fetched.stars == 5
    assert await runtime.invoker.invoke_name("product_review:delete", params={"id": review.id})


def test_use_case_key_validates_the_key() -> None:
    with pytest.raises(ValueError, match="must match"):
        use_case_key("Has Spaces")
    with pytest.raises(ValueError, match="already used by"):

        @use_case_key("reviews.create")
        class Another(UseCase[int]):
            async def execute(self) -> int:
                return 0


async def test_entity_invoker_as_in_0_2() -> None:
    runtime = _runtime()
    shops = runtime.invoker.entity(Shop)
    shop = await shops.create(payload={"name": "B", "slug": "b"})
    assert (await shops.get(params={"id": shop.id})).name == "B"
    page = await shops.list(params={"query": QuerySpec()})
    assert [s.id for s in page.items] == [shop.id]
    assert await shops.delete(params={"id": shop.id}) is True
    assert await shops.delete(params={"id": shop.id}) is False
    with pytest.raises(NotFound) as info:
        await shops.get(params={"id": shop.id})
    assert (info.value.entity, info.value.id) == ("Shop", shop.id)
    with pytest.raises(NotFound):
        await shops.update(params={"id": shop.id}, payload={"name": "C"})


async def test_main_repo_property() -> None:
    class NoModel(UseCase[int]):
        async def execute(self) -> int:
            return 1

    uc = NoModel()
    with pytest.raises(RuntimeError, match="main_repo"):
        _ = uc.main_repo
    uc.main_repo = "repo"
    assert uc.main_repo == "repo"


async def test_plain_parameters_missing_are_a_422() -> None:
    """0.2 raised ValueError; Loom answers 422 naming the parameter (a client error)."""

    class Needs(UseCase[int]):
        async def execute(self, shop_id: int) -> int:
            return shop_id

    with pytest.raises(ValidationError) as info:
        await _runtime().execute(Needs)
    assert info.value.errors[0].field == "shop_id"
