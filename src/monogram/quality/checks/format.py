"""Format: present, within limits, no template markup, labels, quotes or markdown left."""

from __future__ import annotations

import re
import unicodedata

from monogram.content.shape import LABEL, PLACEHOLDER, RESIDUE
from monogram.quality.checks import CheckInput, CheckResult, Reason, result

MARKDOWN = re.compile(r"\*\*|__|^#{1,6}\s|^\s*[-*]\s", re.M)
ENGLISH = re.compile(
    r"\b(?:the|a|an|and|or|for|to|of|in|on|with|your|you|our|we|is|are|it|this|that|new|at|by|from|more|all|now|here|just|next|get)\b",
    re.I,
)
QUOTED = re.compile(r"^\s*[\"'\u201c\u2018].*[\"'\u201d\u2019]\s*$", re.S)


PUNCTUATION = set(" .,;:!?'\"()-&/%$\u2019\u2018\u201c\u201d\u2013\u2014\n")


def _not_text(text: str) -> list[Reason]:
    """Characters an English text has no business holding: another script, combining marks,
    or more symbols than words (what a small model writes when it runs off the rails)."""
    for index, char in enumerate(text):
        if char.isalpha() and not unicodedata.name(char, "").startswith("LATIN"):
            return [Reason("characters from another script", char, index)]
        if unicodedata.category(char) == "Mn":
            return [Reason("stray combining marks", text[max(0, index - 1) : index + 1], index)]
    symbols = sum(1 for c in text if not c.isalnum() and c not in PUNCTUATION)
    if symbols > max(2, len(text) // 10):
        return [Reason("more symbols than an English text has", text[:30], 0)]
    return []


class FormatCheck:
    name = "format"

    def __call__(self, item: CheckInput) -> CheckResult:
        text, element = item.text, item.element
        reasons: list[Reason] = []
        if len(text.strip()) < 3:
            reasons.append(Reason("empty or almost empty"))
        if element.max_chars and len(text) > element.max_chars:
            reasons.append(
                Reason(
                    f"{len(text)} characters; the limit is {element.max_chars}",
                    text[element.max_chars :][:40],
                    element.max_chars,
                )
            )
        if element.max_words and len(text.split()) > element.max_words:
            reasons.append(Reason(f"{len(text.split())} words; the limit is {element.max_words}"))
        if element.single_line and "\n" in text.strip():
            reasons.append(Reason("more than one line in a one-line element"))
        for pattern, message in (
            (RESIDUE, "template or prompt markup left in the text"),
            (PLACEHOLDER, "unfilled placeholder"),
            (LABEL, "a label before the text"),
            (MARKDOWN, "markdown formatting"),
        ):
            match = pattern.search(text)
            if match:
                reasons.append(Reason(message, match.group(0), match.start()))
        words = re.findall(r"[^\W\d_]+", text)
        if item.brand.language == "en" and len(words) >= 5 and not ENGLISH.search(text):
            reasons.append(Reason("does not read as English, the brand's language", text[:40], 0))
        if item.brand.language == "en":
            reasons += _not_text(text)
        if QUOTED.match(text):
            reasons.append(Reason("the whole text is wrapped in quotes", text[:1], 0))
        return result(self.name, reasons)
