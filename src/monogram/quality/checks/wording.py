"""Wording a marketer would not send, though every fact in it is right: the customer spoken of
in the third person ("for her next run"), a headline that says one thing twice ("Your mat,
your yoga mat"), a data label where copy belongs ("your apparel", "are your favourite
choices"), a sentence that says nothing ("Here's a few more."). Marketing copy only; a support
reply has its own checks.
"""

from __future__ import annotations

import re
from functools import lru_cache

from monogram.quality.checks import CheckInput, Reason, find_all, remembered

THIRD_PERSON = re.compile(r"\b(?:he|she|him|his|her|hers|he's|she's|himself|herself)\b", re.I)
TWICE = re.compile(r"^your ([\w' -]+?),\s*your ([\w' -]+?)[.!]?$", re.I)
LABEL_NOUN = re.compile(
    r"\byour (?:apparel|equipment|products?|items?|category)\b"
    r"|\b(?:are|is) your (?:favou?rite|top) (?:choices?|activities|activity|categories)\b"
    r"|^favou?rite \w+(?:,| and)",
    re.I,
)
# The brand speaking of plans and doings of its own that nothing says exist.
OWN_DOINGS = re.compile(
    r"\b(?:adventure|trip|event|class)s? planned for you\b|\bon our team\b"
    r"|\bwe(?:'ve| have) been (?:doing|running|having)\b"
    r"|\bwe(?:'ve| have) had (?:a few|a lot of|some|many|lots of)\b",
    re.I,
)
# A lone word before a comma or colon that opens the text: the customer's name, a greeting or other
# word that opens a sentence, a season, an activity, a brand or a word of the catalogue may;
# anything else is a small model's noise ("Lemons, you're running", "Blessedly, new gear").
LEAD_WORD = re.compile(r"^([A-Za-z'-]+)[,:]")
# "Light, packable and warm", "Shoes, packs and layers": the first word of a list.
LIST_GOES_ON = re.compile(r"\s*[a-z]+(?:,| and | or )")
OPENERS = frozenset(
    """
    hi hello hey welcome thanks thank yes yep good great ready new now sorry dear finally
    congratulations congrats psst today tonight tomorrow remember oops cheers ok okay surprise
    hooray hurray wow well so look listen quick heads note reminder update also plus first
    next then meanwhile sure absolutely of course spring summer autumn fall winter weekend
    heads-up breaking hurry attention news alert
    friday saturday sunday monday tuesday wednesday thursday morning evening
    """.split()  # noqa: SIM905
)
SAYS_NOTHING = re.compile(
    r"(?:^|[.!?]\s+)(here(?:'s| is| are) (?:a few|some)(?: more)?(?: new)?"
    r"(?: ones| of them| things)?)\s*[.!]"
    r"|\b(?:picks|arrivals|options|ones) for the (?:new )?ones\b",
    re.I,
)
# "A new cycling gear", "a top-quality hiking gear": an article before a mass noun, with only
# describing words between (an activity or one of these); "a look at our gear", "a tent and
# gear" and "a gear bag" are fine.
DESCRIBING = (
    r"new|great|good|top|top-quality|high-quality|quality|lightweight|light|stylish|high-tech"
    r"|top-of-the-line|durable|versatile|perfect|fantastic|amazing|comfortable|premium"
    r"|essential|outdoor|refreshing|fresh|reliable|practical"
)
MASS_NOUNS = r"gear|equipment|clothing"
# "Here's a few": a grammar slip a reader notices in the first line.
HERES_A_FEW = re.compile(r"\bhere's (?:a few|several|many)\b", re.I)


def check(item: CheckInput) -> list[Reason]:
    text = item.text.strip().replace("\u2019", "'")  # one character for one: spans hold
    out = find_all(THIRD_PERSON, text, "speaks of the customer in the third person")[:1]
    twice = TWICE.match(text)
    if twice:
        first, second = twice.group(1).lower(), twice.group(2).lower()
        if first.endswith(second) or second.endswith(first):
            out.append(Reason("says the same thing twice", text))
    out += find_all(LABEL_NOUN, text, "restates a data label instead of writing copy")[:1]
    out += find_all(OWN_DOINGS, text, "speaks of plans the data does not hold")[:1]
    name = str((item.context.get("profile") or {}).get("first_name") or "")
    if name and len(re.findall(rf"\b{re.escape(name)}\b", text)) >= 2:
        out.append(Reason("names the customer twice", name))
    out += _stray_lead(item, text, name)
    empty = SAYS_NOTHING.search(text)
    if empty:
        said = empty.group(1) or empty.group(0)
        out.append(
            Reason("a sentence that says nothing", said, empty.start(1 if empty.group(1) else 0))
        )
    out += find_all(HERES_A_FEW, text, "'here's' before a plural")[:1]
    out += find_all(_a_gear(item), text, "'a' before a mass noun ('a new gear')")[:1]
    return out


def _a_gear(item: CheckInput) -> re.Pattern[str]:
    """``_a_gear_pattern`` for the item's catalogue, looked up once per customer."""
    index = item.facts.names
    return remembered(
        item,
        "wording.a_gear",
        lambda: _a_gear_pattern("|".join(sorted(map(re.escape, index.activity))) if index else ""),
    )


@lru_cache(maxsize=16)
def _a_gear_pattern(activities: str) -> re.Pattern[str]:
    word = f"(?:{DESCRIBING}{'|' + activities if activities else ''})"
    return re.compile(
        rf"\ban? {word}(?:(?:,? and |, | ){word}){{0,2}} (?:{MASS_NOUNS})\b"
        rf"(?=\s*(?:[.,!;:]|$|(?:for|from|in|to|that|with|made|designed|built|and|or|by)\b))"
        rf"|\ban? (?:{MASS_NOUNS})(?=\s*(?:[.,!;:]|$|for\b))",
        re.I,
    )


def _stray_lead(item: CheckInput, text: str, name: str) -> list[Reason]:
    lead = LEAD_WORD.match(text)
    if not lead:
        return []
    word = lead.group(1).lower()
    index = item.facts.names
    if (
        LIST_GOES_ON.match(text, lead.end())
        or word in OPENERS
        or word == name.lower()
        or word in item.facts.vocabulary
        or word.removesuffix("s") in item.facts.vocabulary
        or (index is not None and word in index.activity)
        or word in {b.lower() for b in item.facts.brands}
        or word in item.brand.name.lower().split()
    ):
        return []
    return [Reason("opens with a stray word", lead.group(1), 0)]  # "Cameling: new gear"
