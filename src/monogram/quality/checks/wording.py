"""Wording a marketer would not send, though every fact in it is right: the customer spoken of
in the third person ("for her next run"), a headline that says one thing twice ("Your mat,
your yoga mat"), a data label where copy belongs ("your apparel", "are your favourite
choices"), a sentence that says nothing ("Here's a few more."). Marketing copy only; a support
reply has its own checks.
"""

from __future__ import annotations

import re

from monogram.quality.checks import CheckInput, Reason

THIRD_PERSON = re.compile(r"\b(?:he|she|him|his|her|hers|he's|she's|himself|herself)\b", re.I)
TWICE = re.compile(r"^your ([\w' -]+?),\s*your ([\w' -]+?)[.!]?$", re.I)
LABEL_NOUN = re.compile(
    r"\byour (?:apparel|equipment|products?|items?|category)\b"
    r"|\b(?:are|is) your (?:favou?rite|top) (?:choices?|activities|activity|categories)\b",
    re.I,
)
SAYS_NOTHING = re.compile(
    r"(?:^|[.!?]\s+)(here(?:'s| is| are) (?:a few|some)(?: more)?(?: new)?"
    r"(?: ones| of them| things)?)\s*[.!]",
    re.I,
)


def check(item: CheckInput) -> list[Reason]:
    text = item.text.strip()
    out = []
    found = THIRD_PERSON.search(text)
    if found:
        out.append(
            Reason("speaks of the customer in the third person", found.group(0), found.start())
        )
    twice = TWICE.match(text)
    if twice:
        first, second = twice.group(1).lower(), twice.group(2).lower()
        if first.endswith(second) or second.endswith(first):
            out.append(Reason("says the same thing twice", text))
    label = LABEL_NOUN.search(text)
    if label:
        out.append(
            Reason("restates a data label instead of writing copy", label.group(0), label.start())
        )
    empty = SAYS_NOTHING.search(text)
    if empty:
        out.append(Reason("a sentence that says nothing", empty.group(1), empty.start(1)))
    return out
