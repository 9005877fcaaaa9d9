"""Problem documents name fields the way clients send them (camelCase)."""

from loom.core.errors import Conflict, ValidationError


def test_conflict_names_columns_in_camel_case_on_the_wire() -> None:
    err = Conflict("user_id refers to a record that does not exist", fields=["user_id"])
    assert err.fields == ("user_id",)
    problem = err.to_problem()
    assert problem["status"] == 409 and problem["code"] == "conflict"
    assert [e["field"] for e in problem["errors"]] == ["userId"]


def test_validation_error_problem_lists_the_field() -> None:
    problem = ValidationError.single("fullName", "field required").to_problem()
    assert problem["status"] == 422
    assert problem["errors"] == [{"field": "fullName", "message": "field required"}]
