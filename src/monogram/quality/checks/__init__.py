"""Checks: one module each, one small protocol.

A check looks at one element's text with what it needs to judge it (the element, placement,
brand kit, this customer's context and the catalogue's facts) and returns a ``CheckResult``:
a score in [0, 1], pass or fail, and reasons that point at the offending span.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from monogram.content.brand import BrandKit
from monogram.content.placements import GeneratedElement, Placement

if TYPE_CHECKING:
    from monogram.quality.checks.kinds import NameIndex

T = TypeVar("T")


@dataclass(frozen=True)
class Reason:
    message: str
    span: str = ""
    start: int = -1

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "span": self.span, "start": self.start}

    def __str__(self) -> str:
        return f"{self.message} ({self.span!r})" if self.span else self.message


@dataclass
class CheckResult:
    name: str
    passed: bool
    score: float
    reasons: list[Reason] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "score": round(self.score, 4),
            "reasons": [r.as_dict() for r in self.reasons],
        }


@dataclass
class Facts:
    """What the catalogue and this customer's offers make true."""

    prices: set[float] = field(default_factory=set)
    product_names: set[str] = field(default_factory=set)
    brands: set[str] = field(default_factory=set)
    url_prefixes: set[str] = field(default_factory=set)
    offer: dict[str, Any] = field(default_factory=dict)
    other_names: frozenset[str] = frozenset()  # other customers' names (shared, read only)
    vocabulary: set[str] = field(default_factory=set)  # every word the catalogue uses, lower case
    # every value the catalogue gives each descriptive attribute (material: {"merino wool", ...})
    attribute_values: dict[str, set[str]] = field(default_factory=dict)
    categories: set[str] = field(default_factory=set)  # the catalogue's categories, lower case
    names: NameIndex | None = None  # the catalogue's names by words (``kinds.build_index``)
    # What checks derive from this customer's context once and reuse for every candidate text
    # and element (see ``remembered``); a fresh one per customer.
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckInput:
    text: str
    element: GeneratedElement
    placement: Placement
    brand: BrandKit
    context: dict[str, Any]
    facts: Facts


class Check(Protocol):
    name: str

    def __call__(self, item: CheckInput) -> CheckResult: ...


def remembered(item: CheckInput, key: str, build: Callable[[], T]) -> T:
    """``build()``, once per customer: word sets from the context, the brand kit and the
    element are the same for every candidate text and every check that asks."""
    memo = item.facts.memo
    if key not in memo:
        memo[key] = build()
    found: T = memo[key]
    return found


def product_names(item: CheckInput) -> frozenset[str]:
    """The catalogue's product names in lower case, once per customer."""
    return remembered(
        item, "product_names", lambda: frozenset(n.lower() for n in item.facts.product_names)
    )


def leaves(value: Any) -> Iterator[Any]:
    """Every scalar in a nested structure of dicts and lists (values, not keys)."""
    if isinstance(value, dict):
        for inner in value.values():
            yield from leaves(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from leaves(inner)
    else:
        yield value


def value_words(value: Any) -> set[str]:
    """The words of every value in a nested structure (not its keys)."""
    return {
        word
        for leaf in leaves(value)
        if leaf is not None
        for word in re.findall(r"[a-z0-9]+", str(leaf).lower())
    }


def find_all(pattern: re.Pattern[str], text: str, message: str) -> list[Reason]:
    return [Reason(message, m.group(0), m.start()) for m in pattern.finditer(text)]


def phrase_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive match of any phrase (spaces match any whitespace/hyphen)."""
    return _phrase_pattern(tuple(phrases))


@lru_cache(maxsize=256)
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = [r"[\s\-]+".join(re.escape(w) for w in p.split()) for p in phrases if p.strip()]
    if not parts:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + r")(?![\w])", re.IGNORECASE)


def result(name: str, reasons: list[Reason], *, soft: float = 0.0) -> CheckResult:
    """Pass when there is no reason; the score falls with each reason."""
    if not reasons:
        return CheckResult(name, True, 1.0 - soft)
    return CheckResult(name, False, max(0.0, 0.5 - 0.15 * (len(reasons) - 1)), reasons)
