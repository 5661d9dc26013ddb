"""What a finished text must not look like: the patterns generation cleans or refuses and the
quality gate's format and task checks flag. One place, so the two stages never disagree.

Every pattern here is about the *shape* of model output (labels, placeholders, markup left
over, a salutation where copy was asked for), not about what the text claims.
"""

from __future__ import annotations

import re

# A label the model puts before its answer ("Subject line: ...", "Here is the reply: ...").
LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:subject(?: line)?|preheader|headline|description|opening|reply|answer|"
    r"text|copy|output|response|here(?: is|'s)[^:\n]*)\s*(?:\*\*)?\s*(?::|\s[\-\u2013])\s*",
    re.IGNORECASE,
)
QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb"
# Prompt or template markup that leaked into the answer (the data fence, chat tokens, Jinja).
RESIDUE = re.compile(r"\{\{|\}\}|\{%|%\}|<<<|>>>|<\|[a-z_]*\|?>?", re.I)
# An unfilled placeholder in any of the forms small models write.
PLACEHOLDER = re.compile(
    r"\[[^\[\]\n]{1,40}\]"  # [Customer_Name], [name], [Product]
    r"|\{[^{}\n]{1,40}\}"  # {name}, {first_name}
    r"|<[A-Za-z][A-Za-z_ ]{0,30}>"  # <name>, <customer name>
    r"|\b[A-Z]{2,}(?:_[A-Z]+)+\b"  # CUSTOMER_NAME
    r"|\b(?:customer|first|your|product|recipient)[ _](?:name|first name)\b(?!s)"
    r"|\bXX+\b|\bTODO\b|\blorem ipsum\b|\bN/A\b|\binsert [a-z ]{2,30}here\b",
    re.I,
)
# A salutation: "Dear Robert,", "Hi there!", "Hello Gregory".
GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))\b[^.!?\n]{0,40}?"
    r"(?:[,!:]|$)",
    re.IGNORECASE,
)


def residue(text: str) -> re.Match[str] | None:
    return RESIDUE.search(text)


def placeholder(text: str) -> re.Match[str] | None:
    return PLACEHOLDER.search(text)


def greeting(text: str) -> re.Match[str] | None:
    """The salutation the text starts with, if any."""
    return GREETING.match(text)
