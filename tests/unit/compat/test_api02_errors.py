"""0.2 signature pins and behaviour of ``loom.core.errors``."""

from __future__ import annotations

import inspect

import pytest

from loom.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    LoomError,
    NotFound,
    RuleViolation,
    RuleViolations,
    SystemError,
)


def _params(fn: object) -> list[tuple[str, object]]:
    return [
        (p.name, p.default)
        for p in inspect.signature(fn).parameters.values()  # type: ignore[arg-type]
    ]


def test_signatures() -> None:
    assert _params(LoomError)[:2] == [("message", None), ("code", None)]
    assert inspect.signature(LoomError).parameters["code"].kind is inspect.Parameter.KEYWORD_ONLY
    assert [n for n, _ in _params(DomainError)][:2] == ["message", "code"]
    assert [n for n, _ in _params(NotFound)][:2] == ["entity", "id"]
    assert inspect.signature(NotFound).parameters["id"].kind is inspect.Parameter.KEYWORD_ONLY
    assert [n for n, _ in _params(RuleViolation)] == ["field", "message"]
    assert _params(RuleViolations)[0][0] == "violations"
    assert _params(Conflict)[0][0] == "message"


def test_loom_error_message_and_code() -> None:
    err = LoomError("payment refused", code="payment_refused")
    assert (err.message, err.code) == ("payment refused", "payment_refused")
    assert LoomError.code == "internal_error"  # the class default is untouched
    assert err.to_problem()["code"] == "payment_refused"
    assert LoomError(detail="old keyword").message == "old keyword"


def test_domain_and_system_errors() -> None:
    domain = DomainError("stock too low", code="stock_too_low")
    assert isinstance(domain, LoomError) and domain.status == 400
    assert (domain.message, domain.code) == ("stock too low", "stock_too_low")
    system = SystemError("ledger offline")
    assert (system.status, system.code, system.message) == (500, "system_error", "ledger offline")
    for cls in (NotFound, Forbidden, Conflict, RuleViolation):
        assert issubclass(cls, DomainError)


def test_not_found() -> None:
    err = NotFound("User", id=7)
    assert str(err) == "User with id=7 not found" == err.message
    assert (err.entity, err.id, err.status, err.code) == ("User", 7, 404, "not_found")
    assert NotFound("User", id="a").message == "User with id='a' not found"
    # Loom's forms keep working.
    assert NotFound(model="User", id=7).entity == "User"
    assert NotFound("job 'x' not found").message == "job 'x' not found"


def test_forbidden_and_conflict_take_a_positional_message() -> None:
    assert Forbidden().message == "Forbidden" and Forbidden().status == 403
    assert Forbidden("not yours").message == "not yours"
    assert (Conflict("taken").message, Conflict("taken").status) == ("taken", 409)


def test_rule_violation_both_forms() -> None:
    v = RuleViolation("email", "already taken")
    assert (v.field, v.message, str(v)) == ("email", "already taken", "email: already taken")
    assert (v.status, v.code) == (422, "rule_violation")
    loom_form = RuleViolation("already taken", field="email")
    assert (loom_form.field, loom_form.message) == ("email", "already taken")
    assert RuleViolation(field="email", message="x").field == "email"
    with pytest.raises(TypeError):
        RuleViolation()


def test_rule_violations_aggregate() -> None:
    items = [RuleViolation("email", "taken"), RuleViolation("age", "too young")]
    agg = RuleViolations(items)
    assert agg.violations == tuple(items)
    assert (agg.status, agg.code) == (422, "rule_violations")
    assert [e.to_dict() for e in agg.errors] == [
        {"field": "email", "message": "taken"},
        {"field": "age", "message": "too young"},
    ]
    assert isinstance(agg, RuleViolation)  # `except RuleViolation` catches both
    assert str(agg) == "email: taken; age: too young"
