"""Default Swagger summaries read as English."""

from __future__ import annotations

import pytest

from loom.rest._wording import humanize_use_case, indefinite_article, plural


@pytest.mark.parametrize(
    ("word", "article"),
    [
        ("User", "a"),
        ("Unit", "a"),
        ("UserProfile", "a"),
        ("Usage", "a"),
        ("Uniform", "a"),
        ("European", "a"),
        ("OneTimeCode", "a"),
        ("Product", "a"),
        ("Order", "an"),
        ("Invoice", "an"),
        ("Address", "an"),
        ("Umbrella", "an"),
        ("Update", "an"),
        ("Unassigned", "an"),
        ("Hour", "an"),
        ("HonestBroker", "an"),
        ("Host", "a"),
        ("SQLQuery", "an"),
        ("URLAlias", "a"),
        ("FAQEntry", "an"),
        ("APIKey", "an"),
    ],
)
def test_the_article_follows_the_sound(word: str, article: str) -> None:
    assert indefinite_article(word) == article


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        ("CreateAddressUseCase", "Create address"),
        ("ListLowStockProductsUseCase", "List low stock products"),
        ("DispatchRestockEmailUseCase", "Dispatch restock email"),
        ("ExportCSVReportUseCase", "Export CSV report"),
        ("ListCheapProducts", "List cheap products"),
        ("Boom", "Boom"),
        ("UseCase", "Use case"),
    ],
)
def test_use_case_names_become_sentences(name: str, sentence: str) -> None:
    assert humanize_use_case(name) == sentence


@pytest.mark.parametrize(
    ("noun", "plural_form"),
    [("Product", "Products"), ("Category", "Categories"), ("Day", "Days"), ("Box", "Boxes")],
)
def test_plurals(noun: str, plural_form: str) -> None:
    assert plural(noun) == plural_form
