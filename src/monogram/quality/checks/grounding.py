"""Factual grounding: every price, percentage, discount, promo code, date, delivery promise,
URL and product name must match the catalogue, the offer, or this customer's context."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from monogram.quality.checks import (
    CheckInput,
    CheckResult,
    Reason,
    leaves,
    product_names,
    remembered,
    result,
)

PRICE = re.compile(
    r"(?:[$€£]|\bUSD\s?|\bEUR\s?)\s?(\d{1,5}(?:[.,]\d{1,2})?)|\b(\d{1,5}(?:\.\d{2})?)\s?(?:dollars|bucks|USD|EUR)\b",
    re.I,
)
PERCENT = re.compile(r"\b(\d{1,3})\s?(?:%|per ?cent)", re.I)
HALF_OFF = re.compile(r"\b(?:half[\s-]price|half off|buy one,? get one|bogo|\d+ for \d+)\b", re.I)
FREE = re.compile(
    r"\bfree\s+(?:shipping|delivery|returns?|gifts?|samples?|items?|pairs?|upgrades?)\b|\bfor free\b|\bon the house\b|\bcomplimentary\b|\bno charge\b",
    re.I,
)
CODE = re.compile(
    r"\b(?:code|coupon|promo(?:tion)?(?: code)?|voucher)\s*:?\s*([A-Z0-9][A-Z0-9-]{3,15})\b", re.I
)
DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?\b"
    r"|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b|\b(?:ends?|until|till|expires?)\s+(?:on\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tonight|midnight)\b",
    re.I,
)
DELIVERY = re.compile(
    r"\b(?:next|same)[\s-]day (?:delivery|shipping)\b|\bovernight (?:delivery|shipping)\b"
    r"|\b(?:arrives?|delivered|ships?|shipped|get it)\b[^.!?]{0,25}\b(?:tomorrow|today|tonight|in \d+ (?:hours?|days?)|within \d+ (?:hours?|days?))\b"
    r"|\b(?:guaranteed|fast|express) delivery\b",
    re.I,
)
URL = re.compile(r"\bhttps?://[^\s)>\]]+|\bwww\.[^\s)>\]]+", re.I)
# A run of capitalised words: the name of a product, a brand or a person (or a sentence start).
CAPITALISED = re.compile(r"\b[A-Z][\w'&-]*(?:\s+(?:[A-Z][\w'&-]*|\d+))*")
CONTRACTION = re.compile(r"(?:'s|'m|'re|'ve|'ll|'d|n't)$")


def english(word: str) -> bool:
    """Whether a word is an ordinary English word (a dictionary's lower-case entries)."""
    lowered = CONTRACTION.sub("", word.lower().replace("\u2019", "'").strip("'"))
    if lowered.isdigit() or len(lowered) <= 2:
        return True
    words = _dictionary()
    return lowered in MODERN or any(form in words for form in _forms(lowered))


# Everyday words newer than the dictionaries (GCIDE is from 1913, Webster's 2nd from 1934).
MODERN = frozenset(
    [
        "eco",
        "online",
        "email",
        "emails",
        "website",
        "app",
        "apps",
        "wetsuit",
        "wetsuits",
        "unisex",
        "bestseller",
        "bestsellers",
        "outdoorsy",
        "ebike",
        "ebikes",
        "smartphone",
        "smartwatch",
        "fleece",
        "fleeces",
        "hashtag",
        "weekend",
        "weekends",
        "workout",
        "workouts",
        "upcycled",
        "sustainably",
        "vegan",
        "okay",
        "ok",
    ]
)


def _forms(word: str) -> list[str]:
    """The word and the stems and spellings a dictionary lists it under: hiking -> hike,
    favourite -> favorite, tried -> try, colours -> colour -> color."""
    forms = [word]
    for suffix, replacements in (
        ("ies", ["y"]),
        ("ied", ["y"]),
        ("ing", ["", "e"]),
        ("ed", ["", "e"]),
        ("es", [""]),
        ("s", [""]),
        ("er", ["", "e"]),
        ("est", ["", "e"]),
        ("ly", [""]),
    ):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            forms += [stem + r for r in replacements]
            if len(stem) > 2 and stem[-1] == stem[-2]:  # running -> run
                forms.append(stem[:-1])
    american = []
    for form in forms:
        for british, us in (("our", "or"), ("ise", "ize"), ("tre", "ter"), ("ll", "l")):
            if british in form:
                american.append(form.replace(british, us))
    return forms + american


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    from english_words import get_english_words_set

    entries = get_english_words_set(["web2", "gcide"], lower=False, alpha=True)
    return frozenset(w for w in entries if w.islower())


def _context_words(context: dict[str, Any]) -> set[str]:
    """Every word in the customer's context (their name, products, interests, message)."""
    return {
        word.lower()
        for leaf in leaves(context)
        if isinstance(leaf, str)
        for word in re.findall(r"[\w'&-]+", leaf)
    }


def _brand_words(item: CheckInput) -> frozenset[str]:
    brand = item.brand
    texts = [
        brand.name,
        brand.description,
        *brand.voice,
        *[t for v in brand.exemplars.values() for t in (e.text for e in v)],
    ]
    texts += [v.text for v in item.element.fallbacks]
    return _words_in(tuple(texts))


@lru_cache(maxsize=256)
def _words_in(texts: tuple[str, ...]) -> frozenset[str]:
    """The words of the brand kit and approved copy: the same for every customer."""
    return frozenset(w.lower() for t in texts for w in re.findall(r"[\w'&-]+", t))


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def _number(text: str) -> float:
    return float(text.replace(",", "."))


class GroundingCheck:
    name = "grounding"

    def __call__(self, item: CheckInput) -> CheckResult:
        text, facts, offer = item.text, item.facts, item.facts.offer
        reasons: list[Reason] = []
        for match in PRICE.finditer(text):
            value = _number(match.group(1) or match.group(2))
            if not any(
                abs(value - p) < 0.011 or (value == int(value) and abs(round(p) - value) < 0.51)
                for p in facts.prices
            ):
                reasons.append(
                    Reason(
                        "a price not in the catalogue or this customer's products",
                        match.group(0),
                        match.start(),
                    )
                )
        for match in PERCENT.finditer(text):
            if int(match.group(1)) != offer.get("discount_percent"):
                reasons.append(
                    Reason("a discount that is not in any offer", match.group(0), match.start())
                )
        for match in HALF_OFF.finditer(text):
            reasons.append(Reason("a deal that is not in any offer", match.group(0), match.start()))
        for match in FREE.finditer(text):
            if not offer.get("free_shipping") or (
                "ship" not in match.group(0).lower() and "deliver" not in match.group(0).lower()
            ):
                reasons.append(
                    Reason("a free offer that does not exist", match.group(0), match.start())
                )
        for match in CODE.finditer(text):
            if match.group(1).upper() != str(offer.get("code", "")).upper():
                reasons.append(
                    Reason("a promo code that is not in any offer", match.group(0), match.start())
                )
        for match in DATE.finditer(text):
            if str(offer.get("ends", "")).lower() not in match.group(0).lower() or not offer.get(
                "ends"
            ):
                reasons.append(
                    Reason("a date no offer or order gives", match.group(0), match.start())
                )
        for match in DELIVERY.finditer(text):
            reasons.append(
                Reason("a delivery promise the brand does not make", match.group(0), match.start())
            )
        for match in URL.finditer(text):
            url = match.group(0).rstrip(".,;:!?")
            if not any(
                url.startswith(prefix) or url.replace("www.", "https://", 1).startswith(prefix)
                for prefix in facts.url_prefixes
            ):
                reasons.append(Reason("a link that is not the brand's", url, match.start()))
        reasons += self._products(item)
        reasons += self._invented(item)
        reasons += self._misspelt_brands(item)
        return result(self.name, reasons)

    def _misspelt_brands(self, item: CheckInput) -> list[Reason]:
        """A brand written nearly right ("Lumens" or "Lemon and Ash" for Lumen and Alder &
        Ash): a capitalised word within two letters of a brand's word that names something
        (the next word is capitalised, or it is no English word)."""
        brand_words = remembered(
            item,
            "grounding.brand_words",
            lambda: {w.lower() for b in item.facts.brands for w in re.findall(r"[A-Za-z]{5,}", b)},
        )
        for found in re.finditer(r"\b([A-Z][a-z]{3,})\b((?:\s+(?:and|&))?\s+[A-Z])?", item.text):
            word = found.group(1).lower()
            if word in brand_words or word in item.facts.vocabulary:
                continue
            # An English word that names nothing ("Strive for more") is no brand.
            close = 0 if not found.group(2) and english(found.group(1)) else 2
            if any(0 < _distance(word, brand) <= close for brand in brand_words):
                return [Reason("a brand name written wrong", found.group(1), found.start())]
        return []

    def _invented(self, item: CheckInput) -> list[Reason]:
        """Names of products, brands or people that nothing the model was given contains.

        A capitalised word that is neither an English word nor in the catalogue, the brand
        kit or this customer's context is a name the model made up ("Trailblazer X9",
        "Northfle", another person's first name).
        """
        sources = (
            item.facts.vocabulary,
            remembered(item, "grounding.context", lambda: _context_words(item.context)),
            remembered(item, f"grounding.brand:{item.element.name}", lambda: _brand_words(item)),
        )

        def known(word: str) -> bool:
            return any(word in words for words in sources)

        out = []
        for match in CAPITALISED.finditer(item.text):
            words = re.findall(r"[\w'&-]+", match.group(0))
            unknown = [
                part
                for word in words
                for part in re.split(r"[-&]", word)
                if part
                and not known(CONTRACTION.sub("", part.lower().strip("'")))
                and not known(part.lower().strip("'"))
                and not english(part)
            ]
            if unknown:
                out.append(
                    Reason(
                        "a name not in the catalogue, the brand kit or the customer's data",
                        match.group(0),
                        match.start(),
                    )
                )
        return out

    def _products(self, item: CheckInput) -> list[Reason]:
        """A brand name followed by capitalised words must name a real product."""
        out = []
        names = product_names(item)
        for brand in item.facts.brands:
            pattern = re.compile(
                rf"\b{re.escape(brand)}((?:\s+(?:Pro|Lite|[A-Z][a-z]+)){{1,4}})", re.UNICODE
            )
            for match in pattern.finditer(item.text):
                phrase = match.group(0).lower()
                if not any(name.startswith(phrase) or phrase.startswith(name) for name in names):
                    out.append(
                        Reason(
                            "a product that is not in the catalogue", match.group(0), match.start()
                        )
                    )
        return out
