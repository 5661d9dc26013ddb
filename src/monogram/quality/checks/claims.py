"""Claims that only data can support: what a product is ("lightweight", "waterproof",
"eco-friendly"), and what no catalogue says of anything ("one-of-a-kind", "a favourite among
runners", "great value", "certified"). A small model adds them to copy because marketing text
is full of them; the raters count each as an invented fact."""

from __future__ import annotations

import re
from typing import Any

from monogram.quality.checks import CheckInput, Reason, value_words

# Claims about a product that only its data can support: (pattern, what supports it).
CLAIMS: tuple[tuple[str, str], ...] = (
    (r"\blight(?:weight|er|est)?\b|\bfeather[\s-]?light\b|\bultra[\s-]?light\b", "light"),
    (r"\bwater[\s-]?(?:proof|resistant|repellent)\b|\bkeeps? (?:you )?dry\b", "waterproof"),
    (r"\bdurable\b|\bbuilt to last\b|\blong[\s-]lasting\b|\btough\b|\brugged\b", "durable"),
    (
        r"\beco[\s-]?friendly\b|\bsustainabl[ey]\b|\benvironmentally\b|\bgreen(?:er)? choice\b",
        "eco",
    ),
    (
        r"\bbreathable\b|\bwarm(?:th|est)?\b|\binsulat\w+\b|\bquick[\s-]dry\w*\b"
        r"|\bcomfortabl[ey]\b|\bcomfy\b|\bco[sz]y\b"
        r"|\bsoft(?=[\s-]+(?:feel|touch|fabric|lining|material|fleece|and|to))|\bsoft-like\b",
        "feel",
    ),
    (
        r"\bluxur\w+\b|\bpremium\b|\bhigh[\s-]end\b|\btop[\s-]of[\s-]the[\s-]line\b"
        r"|\btop[\s-]rated\b|\bbest[\s-]sell\w+\b|\baward[\s-]winning\b|\blimited edition\b",
        "status",
    ),
    (
        r"\bfoldable\b|\bpackable\b|\badjustable\b|\bnon[\s-]slip\b|\bgrippy\b|\breflective\b"
        r"|\bhandmade\b|\bvegan\b|\blifetime\b",
        "feature",
    ),
)
LIGHT_GRAMS = 600


def supports(kind: str, match: str, product: dict[str, Any], words: set[str]) -> bool:
    """Whether the product's data supports a claim of this kind."""
    attributes = product.get("attributes") or {}
    if set(re.findall(r"[a-z0-9]+", match.lower())) <= words:  # the data says it, word for word
        return True
    if kind == "light":
        weight = attributes.get("weight_g")
        return (isinstance(weight, int | float) and weight <= LIGHT_GRAMS) or bool(
            re.search(r"\b(?:lite|light)\b", str(product.get("name", "")), re.I)
        )
    if kind == "waterproof":
        return attributes.get("waterproof") is True
    if kind == "durable":
        tags = attributes.get("tags") or []
        return "durable" in tags or (attributes.get("warranty_years") or 0) >= 3
    if kind == "eco":
        return bool(re.search(r"recycled|organic", str(attributes.get("material", "")), re.I))
    return False


def unsupported_claims(item: CheckInput, product: dict[str, Any]) -> list[Reason]:
    """ "Lightweight", "waterproof", "luxury", "eco-friendly" ... said of a product whose data
    does not say so: a small model's favourite inventions."""
    text = item.text
    for name in (
        product.get("name"),
        *(p.get("name") for p in item.context.get("recommended_products") or []),
    ):
        if name:
            text = re.sub(re.escape(str(name)), lambda m: " " * len(m.group(0)), text, flags=re.I)
    words = value_words(product)
    out = []
    for pattern, kind in CLAIMS:
        for found in re.finditer(pattern, text, re.I):
            if not supports(kind, found.group(0), product, words):
                out.append(
                    Reason(
                        "a claim the product's data does not support",
                        found.group(0),
                        found.start(),
                    )
                )
    return out


# Praise no catalogue field can back: popularity, uniqueness, value, fame, certification,
# empty hype. Said of anything in marketing copy, it is an invented fact or off brand.
HYPE = re.compile(
    r"\bone[\s-]of[\s-]a[\s-]kind\b|\btop[\s-]notch\b|\bmasterpiece\b|\bgame[\s-]changer\b"
    r"|\bworld[\s-]class\b|\bstate[\s-]of[\s-]the[\s-]art\b|\bcutting[\s-]edge\b|\biconic\b"
    r"|\blegendary\b|\bfamous\b|\brenowned\b|\bcertified\b|\bawesome\b|\bthrilling\b"
    r"|\bstylish\b|\bsuper (?:fun|cool|stylish|comfy|comfortable)\b|\bunbeatable\b"
    r"|\bunmatched\b|\bunrivall?ed\b"
    r"|\b(?:great|good|best|excellent) value\b|\bon a budget\b|\bbudget[\s-]friendly\b"
    r"|\baffordable\b|\bbargain\b|\bmost popular\b|\bpopular (?:with|among)\b"
    r"|\b(?:safe|reliable) (?:for|on|in)\b|\b(?:100% |completely |totally )safe\b"
    r"|\bmost reliable\b"
    r"|\b(?:top|high)[\s-]quality\b"
    r"|\b(?:a|our|every(?:one|body)'s|customer|fan|crowd) (?:new )?favou?rite\b"
    r"|\bfavou?rite (?:among|with|of (?:many|all|every))\b",
    re.I,
)


def hype(item: CheckInput) -> list[Reason]:
    """Praise the data cannot back, unless the product's own data uses the words."""
    words = value_words(item.context.get("product"))
    return [
        Reason("praise no data supports", found.group(0), found.start())
        for found in HYPE.finditer(item.text)
        if not value_words(found.group(0)) <= words
    ][:1]
