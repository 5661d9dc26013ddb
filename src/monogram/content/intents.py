"""What a customer's support message asks about (a change of address, a return, where an
order is ...), recognised by the words people use for it, and the words a reply that answers
it uses. Prompts use it to show the model a worked example of the same kind of request; the
quality gate uses it to check that a reply answers the question that was asked.
"""

from __future__ import annotations

import re

# intent: (how customers ask, what an answer mentions)
INTENTS: dict[str, tuple[str, str]] = {
    "address": (
        r"\baddress\b|\bdeliver(?:y|ed)? (?:it )?to (?:my|a|another|the new)\b|\bmoved\b",
        r"\baddress",
    ),
    "cancel": (r"\bcancel", r"\bcancel"),
    "return": (
        r"\breturn|\bsend (?:it|them) back\b|\brefund|\bexchange",
        r"\breturn|\brefund|\bexchange|\bsend (?:it|them) back\b",
    ),
    "size": (
        r"\bsize\b|\bsizes\b|\bfit\b|\btoo (?:small|big|large|tight|loose)\b",
        r"\bsize|\bfit|\bexchange",
    ),
    "where": (
        r"\bwhere is\b|\bwhere's\b|\bhas(?:n't| not)? (?:arrived|come)\b|\bstill waiting\b"
        r"|\btracking\b|\bwhen will\b|\blate\b|\bdelayed\b|\bnot (?:yet )?(?:arrived|received)\b"
        r"|\bstatus\b",
        r"\btrack|\bdeliver|\bship|\barriv|\bdispatch|\bon its way\b|\bstatus\b|\bcourier\b",
    ),
    "damaged": (
        r"\bdamaged|\bbroken|\bbroke\b|\bfaulty|\bdefect|\btorn\b|\bripped|\bleak",
        r"\bdamage|\bbroken|\bfault|\breplace|\bphoto|\bdefect|\brepair",
    ),
    "payment": (
        r"\bcharged\b|\bpayment\b|\bcard\b|\binvoice\b|\breceipt\b|\bbilled\b|\btwice\b",
        r"\bcharge|\bpayment|\binvoice|\breceipt|\bbill",
    ),
}
_asks = {name: re.compile(p[0], re.I) for name, p in INTENTS.items()}
_answers = {name: re.compile(p[1], re.I) for name, p in INTENTS.items()}


def intents(message: str) -> list[str]:
    """What a customer's message asks about, in a fixed order (empty when nothing is known)."""
    return [name for name, pattern in _asks.items() if pattern.search(message)]


def answers(reply: str, intent: str) -> bool:
    """Whether a reply speaks to ``intent`` at all."""
    return bool(_answers[intent].search(reply))
