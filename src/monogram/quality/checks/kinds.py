"""Kinds of product and the catalogue's names: the words names end in ("tent", "wetsuit"), the
gear a small model calls a product instead ("a yoga shirt" for leggings), the products a text
names (by whole words) and the activities their categories are. Used to catch copy that swaps
one product for another, pitches it for another activity or cuts its name into another
product's, and a support reply about another item than the one asked about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# Categories whose products suit every activity: a jacket "for your next run" is no swap.
EVERY_ACTIVITY = frozenset({"apparel", "clothing", "accessories", "gifts", "sale"})
# Activity categories that do not end in -ing, and -ing words that name goods, not activities.
ACTIVITY_WORDS = frozenset(
    "yoga pilates golf tennis ski surf football basketball soccer fitness dance".split()  # noqa: SIM905
)
GOODS = frozenset(
    """
    clothing bedding lighting flooring roofing packaging seating shelving housing plumbing
    decking tubing tiling wiring dining furnishing
    """.split()  # noqa: SIM905
)
# Other words for an activity, used when the catalogue has that category.
ALIASES = {"bike": "cycling", "bikes": "cycling", "biking": "cycling"}
# What a text calls a range of products ("yoga gear", "more swimming essentials").
RANGE = r"gear|essentials?|kit|equipment|accessories|apparel|clothing|outfits?|favou?rites|picks"
TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")
# Where a name's variant starts: "Talon 22 Daypack, Black", "Tee - Long Sleeve", "Pant (Women's)"
VARIANT = re.compile(r",|\s[-\u2013\u2014|/]\s|\s?\(")


@dataclass(frozen=True)
class NameIndex:
    """The catalogue's names as word tuples, for finding them in a text by whole words (a
    one-word "Pan" is not in "expand"), and the words that name each activity category.
    Built once per catalogue version (``gate._catalogue_facts``)."""

    category: dict[tuple[str, ...], str]  # a name's words -> its category
    longest: dict[str, int]  # a name's first word -> the most words a name starting so has
    starts: frozenset[tuple[str, ...]]  # every start of two words or more of a name
    misleading: frozenset[tuple[str, ...]]  # starts of names that read as another product
    activity: dict[str, str]  # "swim", "swimming", "swims" -> "swimming"
    # An activity before a range ("yoga gear") or after "for" ("a great choice for swimming")
    pitched: re.Pattern[str] | None


def words(text: str) -> list[str]:
    """A name's or a text's words, lower case, punctuation dropped ("Pant (Women's)"), "and"
    too, as "&" is ("Alder and Ash" is "Alder & Ash")."""
    return [m.group(0).lower() for m in _tokens(text)]


def _tokens(text: str) -> list[re.Match[str]]:
    """The words of ``text`` as matches on the text itself (spans stay right where lower
    case changes a letter's length, as "İ" does)."""
    return [m for m in TOKEN.finditer(text) if m.group(0).lower() != "and"]


def build_index(names: dict[str, str]) -> NameIndex:
    """``names``: each product name with its category."""
    category: dict[tuple[str, ...], str] = {}
    cores: set[tuple[str, ...]] = set()  # each name's words before its variant
    for name, cat in sorted(names.items()):
        full = tuple(words(name))
        core = tuple(words(VARIANT.split(name, maxsplit=1)[0]))
        for key in (full, core):
            if key and (len(key) > 1 or len(key[0]) >= 3):  # a one-word "A" is no name
                category.setdefault(key, cat.lower())
        if core:
            cores.add(core)
    longest: dict[str, int] = {}
    for key in category:
        longest[key[0]] = max(longest.get(key[0], 0), len(key))
    kinds = {_kind(core) for core in cores} - {""}
    # "Ridgeline Pro Mat" of the Ridgeline Pro Mat Towel: three words or more of a name's core
    # (the name before a variant: ", Black", " - Long Sleeve", " (Women's)") that end in one
    # kind of product ("mat") while the name goes on to another ("towel"): the cut reads as
    # another product. "The Summit Lab Pro" or "the Osprey Talon 22" is a fair short name.
    misleading = frozenset(
        core[:n]
        for core in cores
        for n in range(3, len(core))
        if core[n - 1] in kinds and any(w in kinds for w in core[n:]) and core[:n] not in category
    )
    activity: dict[str, str] = {}
    for cat in sorted(c for c in set(category.values()) if is_activity(c)):
        for form in _forms(cat):
            activity.setdefault(form, cat)
    for alias, cat in ALIASES.items():
        if cat in activity.values():
            activity.setdefault(alias, cat)
    starts = frozenset(key[:n] for key in category for n in range(2, len(key) + 1))
    return NameIndex(category, longest, starts, misleading, activity, _pitched(activity))


def is_activity(category: str) -> bool:
    """Whether a category is something people do ("running", "yoga"), not a kind of goods
    ("cookware", "clothing", "lighting"): only activities are checked for swaps."""
    if category in EVERY_ACTIVITY or not category.isalpha():
        return False
    return category in ACTIVITY_WORDS or (
        category.endswith("ing") and len(category) > 5 and category not in GOODS
    )


def _kind(core: tuple[str, ...]) -> str:
    """The kind of product a name's core ends in: its last word of three letters or more
    that is no number ("mug" in "Travel Mug 16 oz")."""
    return next((w for w in reversed(core) if len(w) >= 3 and w.isalpha()), "")


def _forms(category: str) -> set[str]:
    """The words that name a category: itself, its plural and, for an activity in -ing, its
    verb and who does it ("running": run, runs, runner; "hiking": hike, hiker; "cycling":
    cyclist)."""
    forms = {category, f"{category}s"}
    if category.endswith("ing") and len(category) > 5:
        base = doubled = category[:-3]
        if base[-1] == base[-2]:
            base = base[:-1]
        forms |= {base, f"{base}s", f"{base}e", f"{base}es", f"{doubled}er", f"{doubled}ers"}
        forms |= {f"{base}r", f"{base}rs", f"{base}ist", f"{base}ists"}
    return forms


def _pitched(activity: dict[str, str]) -> re.Pattern[str] | None:
    if not activity:
        return None
    form = "(?:" + "|".join(sorted(map(re.escape, activity), key=len, reverse=True)) + ")"
    listed = rf"{form}(?:(?:,\s*|\s+)(?:(?:and|or|&)\s+)?{form})*"
    after_for = r"(?:your\s+(?:next\s+)?|the\s+next\s+|a\s+)?"
    return re.compile(
        rf"\b({listed})\s+(?:{RANGE})\b"
        rf"|\bfor\s+{after_for}({form})(?=\s*(?:[.,!;:]|$|and\b|or\b))",
        re.I,
    )


def named(item: CheckInput) -> list[tuple[int, int, str]]:
    """The catalogue products a text names, by whole words (a plural last word too): (first
    token, token count, category) for each, the longest name at each place."""
    index = item.facts.names
    if index is None:
        return []
    tokens = words(item.text)
    found = []
    i = 0
    while i < len(tokens):
        first = tokens[i]
        most = max(index.longest.get(first, 0), index.longest.get(first.removesuffix("s"), 0))
        for n in range(min(most, len(tokens) - i), 0, -1):
            run = tuple(tokens[i : i + n])
            cat = index.category.get(run) or index.category.get(
                (*run[:-1], run[-1].removesuffix("s"))
            )
            if cat is not None:
                found.append((i, n, cat))
                i += n
                break
        else:
            i += 1
    return found


def other_activity(item: CheckInput) -> list[Reason]:
    """Products put in another activity's range or pitched for it: "the Pull Buoy and more
    yoga gear", "the Climbing Shoe, a great choice for swimming", "a new harness and more
    cycling gear". Products of a category that suits every activity (``EVERY_ACTIVITY``) may
    be; and a category that is no activity ("cookware") is never said here."""
    index = item.facts.names
    if index is None or index.pitched is None:
        return []
    ours = {cat for _, _, cat in named(item)}
    product = item.context.get("product") or {}
    if not ours and product.get("category"):  # no name, but its kind: "a new harness and ..."
        kind = _kind(tuple(words(VARIANT.split(str(product.get("name") or ""), maxsplit=1)[0])))
        if kind and re.search(rf"\b{re.escape(kind)}(?:e?s)?\b", item.text, re.I):
            ours = {str(product["category"]).lower()}
    if ours & EVERY_ACTIVITY:
        return []
    ours = {cat for cat in ours if is_activity(cat)}  # a pan is pitched for no activity
    if not ours:
        return []
    for found in index.pitched.finditer(item.text):
        group = 1 if found.group(1) else 2
        phrase = found.group(group)
        cats = {index.activity[w] for w in words(phrase) if w in index.activity}
        if cats and not cats & ours:
            return [Reason("pitches the product for another activity", phrase, found.start(group))]
    return []


def cut_name(item: CheckInput) -> list[Reason]:
    """A product's name cut so it reads as another product: "the Ridgeline Pro Mat" for the
    Ridgeline Pro Mat Towel. (``task._product_name`` catches a name written wrong.)"""
    index = item.facts.names
    if index is None or not index.misleading:
        return []
    spans = _tokens(item.text)
    tokens = [m.group(0).lower() for m in spans]
    inside = {i + k for i, size, _ in named(item) for k in range(size)}
    for i, token in enumerate(tokens):
        if i in inside or not item.text[spans[i].start()].isupper():
            continue
        # the longest run of the text that starts a name: cut there, or not cut at all
        longest = max(
            (n for n in range(2, min(index.longest.get(token, 0), len(tokens) - i) + 1)
             if _among(tokens[i : i + n], index.starts)),
            default=0,
        )  # fmt: skip
        if longest and _among(tokens[i : i + longest], index.misleading):
            said = item.text[spans[i].start() : spans[i + longest - 1].end()]
            return [Reason("cuts a product's name short", said, spans[i].start())]
    return []


def _among(run: list[str], table: frozenset[tuple[str, ...]]) -> bool:
    """Whether a run of words, or the run with its last word singular ("Mats"), is in
    ``table``."""
    return tuple(run) in table or (*run[:-1], run[-1].removesuffix("s")) in table
