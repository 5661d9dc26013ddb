"""Wording a marketer would not send, though every fact in it is right: the customer spoken of
in the third person ("for her next run"), a headline that says one thing twice ("Your mat,
your yoga mat"), a data label where copy belongs ("your apparel", "are your favourite
choices"), a sentence that says nothing ("Here's a few more."). Marketing copy only; a support
reply has its own checks.
"""

from __future__ import annotations

import re

from monogram.quality.checks import CheckInput, Reason, find_all

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
    r"|\bwe(?:'ve| have) been (?:doing|running|having)\b",
    re.I,
)
SAYS_NOTHING = re.compile(
    r"(?:^|[.!?]\s+)(here(?:'s| is| are) (?:a few|some)(?: more)?(?: new)?"
    r"(?: ones| of them| things)?)\s*[.!]",
    re.I,
)


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
    empty = SAYS_NOTHING.search(text)
    if empty:
        out.append(Reason("a sentence that says nothing", empty.group(1), empty.start(1)))
    return out
