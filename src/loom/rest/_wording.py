"""English for the route table's default summaries (what Swagger UI shows)."""

from __future__ import annotations

import re

__all__ = ["humanize_use_case", "indefinite_article", "plural"]

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SUFFIXES = ("UseCase", "Usecase")

# Letters whose spoken name starts with a vowel sound ("an SQL", "an FAQ", "a URL").
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")
_SILENT_H = ("hour", "honest", "honor", "honour", "heir")
_VOWELS = frozenset("aeiou")


def _words(name: str) -> list[str]:
    return _WORDS.findall(name)


def indefinite_article(word: str) -> str:
    """``"a"`` or ``"an"`` by the sound the word starts with, not its first letter:
    "a User", "a Unit", "a European", "an Order", "an Hour", "an SQL"."""
    parts = _words(word)
    head = parts[0] if parts else word
    if not head:
        return "a"
    if len(head) > 1 and head.isupper():
        # An initialism is read letter by letter.
        return "an" if head[0] in _VOWEL_SOUND_LETTERS else "a"
    low = head.lower()
    if low.startswith(_SILENT_H):
        return "an"
    if low[0] not in _VOWELS:
        return "a"
    if low.startswith(("eu", "one", "once")):
        return "a"  # "you", "wun"
    if low[0] == "u":
        # "u" + one consonant + vowel is read "you" (user, unit, usage, utility),
        # except the negating prefix "un-" before a vowel (unable, uneven).
        if low.startswith("uni") or low.startswith("unanim"):
            return "a"
        if low.startswith("un"):
            return "an"
        if len(low) >= 3 and low[1] not in _VOWELS and low[2] in _VOWELS:
            return "a"
    return "an"


def plural(noun: str) -> str:
    """The regular English plural of a model name: Products, Categories, Boxes."""
    low = noun.lower()
    if low.endswith("y") and len(low) > 1 and low[-2] not in _VOWELS:
        return noun[:-1] + "ies"
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def humanize_use_case(name: str) -> str:
    """``CreateAddressUseCase`` -> "Create address"; acronyms keep their case
    (``ExportCSVReportUseCase`` -> "Export CSV report")."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    words = _words(name)
    if not words:
        return name
    out = [w if len(w) > 1 and w.isupper() else w.lower() for w in words]
    out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)
