"""Kinds of product: the words a catalogue's names end in ("tent", "wetsuit") and the gear a
small model calls a product instead ("a yoga shirt" for leggings). Used to catch copy that
swaps one product for another and a support reply about another item than the one asked about.
"""

from __future__ import annotations

import re

from monogram.quality.checks import CheckInput, Reason, remembered

# Gear and clothing beyond a catalogue's own kinds that a small model calls a product by
# ("a yoga shirt" for leggings, "your massage pillow" for a cushion, "a surfboard").
OTHER_GEAR = frozenset(
    """
    shirt blouse jumper sweater hoodie coat parka anorak trousers jeans skirt dress bra
    sneaker trainer sandal slipper hat beanie scarf backpack rucksack bottle flask pillow
    blanket hammock lantern knife compass surfboard snowboard skateboard ski kayak canoe boat
    paddle racket bicycle rope carabiner shelter sunglasses umbrella mattress sled luge
    scooter dumbbell kettlebell
    """.split()  # noqa: SIM905
)
# Another word for the same kind: no swap when the product is one of these.
SAME: dict[str, set[str]] = {
    "sneaker": {"shoe", "flat", "boot"},
    "trainer": {"shoe", "flat"},
    "shoe": {"flat", "boot"},
    "backpack": {"daypack", "bag"},
    "rucksack": {"daypack", "bag"},
    "shirt": {"tee", "jersey", "layer"},
    "sweater": {"fleece"},
    "jumper": {"fleece"},
    "hoodie": {"fleece"},
    "coat": {"jacket"},
    "anorak": {"jacket"},
    "parka": {"jacket"},
    "trousers": {"pant", "tights", "legging"},
    "pillow": {"cushion"},
    "shelter": {"tent"},
    "lantern": {"headlamp"},
    "bicycle": {"bike"},
}
# Product kinds that are also everyday words ("a bike light", "a set of", "light").
AMBIGUOUS = {"light", "set", "pad", "cap", "top", "kit", "pack"}


def sold(product_names: set[str]) -> set[str]:
    """The kinds of product the catalogue sells (the last word of each name) and the gear
    it may not sell ("surfboard", "shirt"): a name the model gives the product instead of
    its own."""
    kinds = {name.split()[-1].lower() for name in product_names if name.split()}
    return (kinds | OTHER_GEAR) - AMBIGUOUS


def sold_in(item: CheckInput) -> set[str]:
    """``sold`` for the item's catalogue, once per customer."""
    return remembered(item, "kinds.sold", lambda: sold(item.facts.product_names))


def singular(word: str, sold: set[str]) -> str:
    """A kind's plural ("tents") read as the kind; any other word as it is."""
    return word[:-1] if word.endswith("s") and word[:-1] in sold else word


ALIASES = {"bike": "cycling", "biking": "cycling", "bikes": "cycling"}


def _category_named(word: str, categories: set[str]) -> str | None:
    """The category a word names ("swim" and "swims" name swimming, "hike" hiking)."""
    if word in ALIASES and ALIASES[word] in categories:
        return ALIASES[word]
    stem = word[:-1] if word.endswith(("e", "s")) else word
    if len(stem) < 3:
        return None
    for category in categories:
        if category == word or category.startswith(stem):
            return category
    return None


def other_activity(item: CheckInput) -> list[Reason]:
    """Products pitched for an activity that is none of theirs: "the Pull Buoy and more yoga
    gear", "the Climbing Shoe, a great choice for swimming". Apparel suits every activity."""
    lowered = item.text.lower()
    named = [name for name in item.facts.category_of if name in lowered]
    ours = {item.facts.category_of[name] for name in named}
    product = item.context.get("product") or {}
    words = str(product.get("name") or "").lower().split()
    if (  # no name, but the product's kind: "a new harness and more cycling gear"
        not named
        and words
        and product.get("category")
        and len(words[-1]) >= 3
        and re.search(rf"\b{re.escape(words[-1])}s?\b", lowered)
    ):
        ours = {str(product["category"]).lower()}
    if not ours or "apparel" in ours:
        return []
    for name in named:
        lowered = lowered.replace(name, " " * len(name))
    categories = item.facts.categories - {"apparel"}
    said = {}
    for found in re.finditer(r"[a-z]+", lowered):
        category = _category_named(found.group(0), categories)
        if category is not None:
            said.setdefault(category, found)
    if said and not said.keys() & ours:
        first = min(said.values(), key=lambda m: m.start())
        return [Reason("pitches the product for another activity", first.group(0), first.start())]
    return []


def _name_tree(
    category_of: dict[str, str],
) -> tuple[dict[str, list[tuple[str, ...]]], set[tuple[str, ...]]]:
    """The catalogue's names as word tuples by first word, and every start of three words or
    more of a name that is not itself a name."""
    names = {tuple(name.split()) for name in category_of}
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for words in names:
        by_first.setdefault(words[0], []).append(words)
    prefixes = {words[:n] for words in names for n in range(3, len(words))} - names
    return by_first, prefixes


def _same_word(said: str, named: str) -> bool:
    said = said.removesuffix("'s")
    return said in (named, f"{named}s", f"{named}es")


def cut_name(item: CheckInput) -> list[Reason]:
    """A product's name with its end cut off or changed: "the Ridgeline Pro Mat" for the
    Ridgeline Pro Mat Towel, "Lumen Lite Softshell" for the Lumen Lite Softshell Pant. Three
    words or more of a name that no product has."""
    by_first, prefixes = remembered(item, "kinds.names", lambda: _name_tree(item.facts.category_of))
    if not prefixes:
        return []
    tokens = list(re.finditer(r"[A-Za-z0-9'&-]+", item.text))
    words = [t.group(0).lower() for t in tokens]
    for i, word in enumerate(words):
        if word not in by_first or not tokens[i].group(0)[0].isupper():
            continue
        longest: tuple[str, ...] = ()
        for n in range(3, min(len(words) - i, 8) + 1):
            run = tuple(words[i : i + n])
            if any(
                len(name) == n and all(_same_word(a, b) for a, b in zip(run, name, strict=True))
                for name in by_first[word]
            ):
                longest = ()
                break
            if run in prefixes:
                longest = run
        if longest:
            span = " ".join(t.group(0) for t in tokens[i : i + len(longest)])
            return [Reason("cuts or changes a product's name", span, tokens[i].start())]
    return []
