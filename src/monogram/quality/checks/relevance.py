"""Relevance: the content is about this customer: it mentions their categories or stated
interests, or reads close to them (embeddings). Product names are taken out first: a text
that only names a product is not thereby relevant."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from monogram.quality.checks import CheckInput, CheckResult, Reason
from monogram.quality.embed import embed_one

THRESHOLD = 0.80


def interests(context: dict[str, Any]) -> list[str]:
    computed = context.get("computed") or {}
    out = [str(c) for c in computed.get("favorite_categories") or []]
    stated = (context.get("zero_party") or {}).get("interests")
    if isinstance(stated, list):
        out += [str(s) for s in stated]
    out += [str(p.get("category", "")) for p in _products(context)]
    return [s for s in dict.fromkeys(o.strip() for o in out) if s]


def _products(context: dict[str, Any]) -> list[dict[str, Any]]:
    found = [p for p in context.get("recommended_products") or [] if isinstance(p, dict)]
    product = context.get("product")
    return [*found, product] if isinstance(product, dict) else found


def without_product_names(text: str, context: dict[str, Any]) -> str:
    """The text with the products' names taken out: naming a product is not relevance."""
    for product in _products(context):
        name = str(product.get("name") or "")
        if name:
            text = re.sub(re.escape(name), " ", text, flags=re.I)
    return " ".join(text.split())


class RelevanceCheck:
    name = "relevance"

    def __call__(self, item: CheckInput) -> CheckResult:
        topics = interests(item.context)
        if not topics:
            return CheckResult(
                self.name, True, 0.5, [Reason("nothing known to be relevant to; not judged")]
            )
        rest = without_product_names(item.text, item.context)
        lowered = rest.lower()
        for topic in topics:
            if re.search(rf"\b{re.escape(topic.lower())}", lowered):
                return CheckResult(self.name, True, 1.0)
        if len(re.findall(r"\w+", rest)) < 3:
            return CheckResult(
                self.name, False, 0.0, [Reason("says nothing about the customer beyond a name")]
            )
        profile = "Interested in " + ", ".join(topics[:12])
        similarity = float(np.dot(embed_one(rest), embed_one(profile)))
        passed = similarity >= item.placement.gate.thresholds.get("relevance", THRESHOLD)
        reasons = (
            []
            if passed
            else [
                Reason(f"mentions none of the customer's interests (similarity {similarity:.2f})")
            ]
        )
        return CheckResult(self.name, passed, round(similarity, 4), reasons)
