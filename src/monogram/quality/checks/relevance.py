"""Relevance: the content is about this customer: it mentions their products, categories or
stated interests, or reads close to them (embeddings)."""

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
    for product in context.get("recommended_products") or []:
        out.append(str(product.get("name", "")))
        out.append(str(product.get("category", "")))
    product = context.get("product")
    if isinstance(product, dict):
        out += [str(product.get("name", "")), str(product.get("category", ""))]
    return [s for s in dict.fromkeys(o.strip() for o in out) if s]


class RelevanceCheck:
    name = "relevance"

    def __call__(self, item: CheckInput) -> CheckResult:
        topics = interests(item.context)
        if not topics:
            return CheckResult(
                self.name, True, 0.5, [Reason("nothing known to be relevant to; not judged")]
            )
        lowered = item.text.lower()
        for topic in topics:
            if re.search(rf"\b{re.escape(topic.lower())}", lowered):
                return CheckResult(self.name, True, 1.0)
        profile = "Interested in " + ", ".join(topics[:12])
        similarity = float(np.dot(embed_one(item.text), embed_one(profile)))
        passed = similarity >= item.placement.gate.thresholds.get("relevance", THRESHOLD)
        reasons = (
            []
            if passed
            else [
                Reason(f"mentions none of the customer's interests (similarity {similarity:.2f})")
            ]
        )
        return CheckResult(self.name, passed, round(similarity, 4), reasons)
