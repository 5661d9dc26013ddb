"""Wording a marketer would not send, though every fact in it is right: the customer spoken of
in the third person ("for her next run"), a headline that says one thing twice ("Your mat,
your yoga mat"), a data label where copy belongs ("your apparel", "are your favourite
choices"), a sentence that says nothing ("Here's a few more."). Marketing copy only; a support
reply has its own checks.
"""

from __future__ import annotations

import re

from monogram.quality.checks import CheckInput, Reason, find_all, remembered

THIRD_PERSON = re.compile(r"\b(?:he|she|him|his|her|hers|he's|she's|himself|herself)\b", re.I)
TWICE = re.compile(r"^your ([\w' -]+?),\s*your ([\w' -]+?)[.!]?$", re.I)
LABEL_NOUN = re.compile(
    r"\byour (?:(?:great|new|best|favou?rite|perfect) )?"
    r"(?:apparel|equipment|products?|items?|category)\b"
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
# A lone word before a comma that opens the text: the customer's name, a greeting, an activity
# or a brand may; anything else is a small model's noise ("Lemons, you're running",
# "Blessedly, new running gear").
LEAD_WORD = re.compile(r"^([A-Za-z'-]+),")
# "Light, packable and warm", "Shoes, packs and layers": the first word of a list.
LIST_GOES_ON = re.compile(r"\s*[a-z]+(?:,| and | or )")
GREETINGS = frozenset(
    "hi hello hey welcome thanks yes good great ready new now sorry dear".split()  # noqa: SIM905
)
SAYS_NOTHING = re.compile(
    r"(?:^|[.!?]\s+)(here(?:'s| is| are) (?:a few|some)(?: more)?(?: new)?"
    r"(?: ones| of them| things)?)\s*[.!]"
    r"|\b(?:for|of) the (?:new )?ones\b",
    re.I,
)
# "A new cycling gear", "a climbing equipment": an article before a mass noun.
A_GEAR = re.compile(
    r"\ban? (?!(?:few|lot|selection|range|list|wide|bit|piece|set|line|collection)\b)"
    r"(?:[a-z-]+(?:,? and |, | )){0,3}(?:gear|equipment|clothing)\b"
    r"(?! (?:picks?|items?|and|bags?|brand|line|product)\b)",
    re.I,
)
# "Here's a few": a grammar slip a reader notices in the first line.
HERES_A_FEW = re.compile(r"\bhere's (?:a few|several|many)\b", re.I)


def check(item: CheckInput) -> list[Reason]:
    text = item.text.strip()
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
    out += _activity_as_thing(item, text)
    empty = SAYS_NOTHING.search(text)
    if empty:
        said = empty.group(1) or empty.group(0)
        out.append(Reason("a sentence that says nothing", said, empty.start()))
    out += find_all(HERES_A_FEW, text, "'here's' before a plural")[:1]
    out += find_all(A_GEAR, text, "'a' before a mass noun ('a new gear')")[:1]
    return out


def _stray_lead(item: CheckInput, text: str, name: str) -> list[Reason]:
    lead = LEAD_WORD.match(text)
    if not lead:
        return []
    word = lead.group(1).lower()
    stem = word[:-1] if word.endswith(("e", "s")) else word
    if (
        LIST_GOES_ON.match(text, lead.end())
        or word in item.facts.vocabulary
        or word.removesuffix("s") in item.facts.vocabulary
        or word == name.lower()
        or word in GREETINGS
        or any(c.startswith(stem[:4]) for c in item.facts.categories if len(stem) >= 3)
        or word in {b.lower() for b in item.facts.brands}
        or word in item.brand.name.lower().split()
    ):
        return []
    return [Reason("opens with a stray word", lead.group(1))]


def _activity_as_thing(item: CheckInput, text: str) -> list[Reason]:
    """An activity written where a product or a plan belongs: "amazing swimming, and new
    running.", "Favourite yoga for your next adventure", "Yoga in your belly"."""
    pattern = remembered(item, "wording.activity", lambda: _activity_pattern(item.facts.categories))
    found = pattern.search(text) if pattern else None
    if found:
        return [Reason("uses an activity as a thing", found.group(0).strip(" .,!;"))]
    return []


def _activity_pattern(categories: set[str]) -> re.Pattern[str] | None:
    names = sorted(c for c in categories if c != "apparel" and c.isalpha())
    if not names:
        return None
    activity = "(?:" + "|".join(names) + ")"
    return re.compile(
        rf"\b(?:new|amazing|favou?rite|lighter|great|best|top|fun|perfect)\s+{activity}"
        rf"\s*(?:[.,!;]|$)|^(?:favou?rite\s+)?{activity}\s+(?:for|in|at|with)\b",
        re.I,
    )
