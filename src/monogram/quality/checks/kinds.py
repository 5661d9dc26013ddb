"""Kinds of product: the words a catalogue's names end in ("tent", "wetsuit") and the gear a
small model calls a product instead ("a yoga shirt" for leggings). Used to catch copy that
swaps one product for another and a support reply about another item than the one asked about.
"""

from __future__ import annotations

from monogram.quality.checks import CheckInput, remembered

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
