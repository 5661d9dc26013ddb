"""Does a support reply answer the message the customer sent?

Topic similarity is not enough: "I have started a return" is about the right order and still
wrong when the customer asked for a bigger size. A reply fails when it answers a problem the
customer did not raise, promises a time the brand does not, names an order that is not theirs,
acts on an address they have not given yet, starts a return where they asked for an exchange,
or speaks of another item than the one they asked about.
"""

from __future__ import annotations

import re

from monogram.content.intents import answers, intents
from monogram.quality.checks import CheckInput, Reason, find_all, kinds, leaves, product_names

# A reply that raises one of these problems when the customer did not is answering someone else.
OTHER_PROBLEM: dict[str, str] = {
    "where": r"\bdelay(?:ed|s)?\b|\brunning late\b|\btaking longer\b",
    "damaged": r"\bdamaged\b|\bbroken\b|\bfaulty\b",
    "return": r"\brefund",
    "cancel": r"\bcancel",
    "size": r"\bsize\b",
    "fit": r"\btoo (?:small|big|large|tight|loose)\b",  # "sorry it is too small", unasked
    "label": r"\blabel\b",  # a return label, for a parcel that never came
}
# Intents that make a problem in OTHER_PROBLEM part of the answer, beyond its own name.
EXCUSED_BY: dict[str, set[str]] = {
    "return": {"damaged"},
    "size": {"return"},  # "Can I exchange it?": the size is part of the answer
    "label": {"return", "size", "damaged"},
}
# Words a support lead would strike: a condolence, an assurance nothing backs, the customer
# asked to do what the team does, the team giving the customer an address.
WRONG_WORDS = re.compile(
    r"\bsorry for your loss\b|\bcondolences\b|\bI have no doubt\b|\brest assured\b"
    r"|\bI can assure you\b|\bI have asked you to\b"
    r"|\b(?:provide|send|give) you (?:with )?(?:a|the|your) new address\b",
    re.I,
)
_other = {name: re.compile(p, re.I) for name, p in OTHER_PROBLEM.items()}
# Times a generated reply may not promise: a service level is the brand's to set, in approved
# copy ("reply within one working day" in a fallback), not the model's to make up.
PROMISE = re.compile(
    r"\bwithin (?:the next )?(?:\d+|one|two|three|a|24|48) (?:working |business )?"
    r"(?:hours?|days?|minutes?|weeks?)\b"
    r"|\bin (?:\d+|two|three) (?:hours?|days?)\b|\b(?:today|tomorrow|tonight|right away|immediately)\b",
    re.I,
)
ORDER_ID = re.compile(r"\b[A-Za-z]{2,5}-\d{4,}\b")
# A new address written out: a house number and a street word, or "my new address is ...".
AN_ADDRESS = re.compile(
    r"\b\d+[a-z]?\s+(?:[A-Za-z'-]+\s+){1,3}(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|way"
    r"|close|court|ct|place|pl|boulevard|blvd|square|terrace|crescent)\b"
    r"|\b(?:new|my) address is\b|\bpost ?code\b|\bzip\b",
    re.I,
)
# The reply acts on an address: "I have passed your new address", "we have updated the address".
ACTS_ON_ADDRESS = re.compile(
    r"\b(?:passed|sent|forwarded|changed|updated|noted|will (?:change|update))\b[^.!?]{0,40}"
    r"\baddress\b|\b(?:change|update) your (?:order |delivery )?address\b[^.!?]{0,25}\bwithin\b",
    re.I,
)
ASKS_FOR_ADDRESS = re.compile(
    r"\b(?:reply|send|tell|share|let us know)\b[^.!?]{0,30}\baddress\b|\bwhat is your new address\b",
    re.I,
)
WANTS_EXCHANGE = re.compile(
    r"\bexchange\b|\b(?:bigger|larger|smaller|different) size\b|\bswap\b", re.I
)
STARTS_RETURN = re.compile(r"\b(?:started|start|starting|opened|arranged) a return\b", re.I)


def check(item: CheckInput) -> list[Reason]:
    """Every reason this reply does not answer the customer's message (none if it has none)."""
    message = str((item.context.get("input") or {}).get("message") or "")
    if not message:
        return []
    text = item.text
    asked = intents(message)
    out = find_all(PROMISE, text, "promises a time the brand does not")
    if asked and not any(answers(text, name) for name in asked):
        out.append(Reason(f"does not answer the customer's question ({', '.join(asked)})"))
    for name, pattern in _other.items():
        if name in asked or EXCUSED_BY.get(name, set()) & set(asked):
            continue
        match = pattern.search(text)
        if match and not pattern.search(message):
            out.append(
                Reason(
                    f"answers a problem the customer did not raise ({name})",
                    match.group(0),
                    match.start(),
                )
            )
    out += find_all(WRONG_WORDS, text, "wording a support lead would strike")[:1]
    out += _order_ids(item)
    acts = ACTS_ON_ADDRESS.search(text)
    if (
        "address" in asked
        and acts
        and not AN_ADDRESS.search(message)
        and not ASKS_FOR_ADDRESS.search(text)
    ):
        out.append(
            Reason("acts on an address the customer has not given", acts.group(0), acts.start())
        )
    started = STARTS_RETURN.search(text)
    if started and WANTS_EXCHANGE.search(message) and not re.search(r"\bexchange", text, re.I):
        out.append(
            Reason(
                "starts a return; the customer asked for an exchange",
                started.group(0),
                started.start(),
            )
        )
    out += _other_item(item, message)
    return out


def _order_ids(item: CheckInput) -> list[Reason]:
    """Order numbers in the reply that are not in the customer's data (a digit dropped)."""
    known = {
        str(leaf).lower()
        for leaf in leaves([item.context.get("order"), item.context.get("purchases")])
        if isinstance(leaf, str)
    }
    known |= {m.group(0).lower() for m in ORDER_ID.finditer(str(item.context.get("input")))}
    return [
        Reason("an order number that is not the customer's", m.group(0), m.start())
        for m in ORDER_ID.finditer(item.text)
        if m.group(0).lower() not in known
    ][:1]


def _other_item(item: CheckInput, message: str) -> list[Reason]:
    """The customer asks about "the shoes"; the reply speaks of a crash pad from the same
    order. Any product the reply names must be of a kind the message names (when it names
    one) and, when the message names a product, be that product."""
    sold = kinds.sold_in(item)
    lowered = message.lower()
    asked_kinds = {kinds.singular(w, sold) for w in re.findall(r"[a-z]+", lowered)} & sold
    if not asked_kinds:
        return []
    asked_names = {n for n in product_names(item) if n in lowered}
    text = item.text.lower()
    for name in sorted(item.facts.product_names, key=len, reverse=True):
        found = text.find(name.lower())
        if found < 0 or len(name.split()) < 2:
            continue
        kind = name.split()[-1].lower()
        same = (
            kind in asked_kinds
            or kinds.SAME.get(kind, set()) & asked_kinds
            or any(kind in kinds.SAME.get(k, set()) for k in asked_kinds)
        )
        if not same or (asked_names and name.lower() not in asked_names):
            return [Reason("speaks of another item than the one asked about", name, found)]
    return []
