"""Format: present, within limits, no template markup, labels, quotes or markdown left."""

from __future__ import annotations

import re

from monogram.content.shape import LABEL, PLACEHOLDER, RESIDUE
from monogram.quality.checks import CheckInput, CheckResult, Reason, result

MARKDOWN = re.compile(r"\*\*|__|^#{1,6}\s|^\s*[-*]\s", re.M)
ENGLISH = re.compile(
    r"\b(?:the|a|an|and|or|for|to|of|in|on|with|your|you|our|we|is|are|it|this|that|new|at|by|from|more|all|now|here|just|next|get)\b",
    re.I,
)
QUOTED = re.compile(r"^\s*[\"'\u201c\u2018].*[\"'\u201d\u2019]\s*$", re.S)


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
        if QUOTED.match(text):
            reasons.append(Reason("the whole text is wrapped in quotes", text[:1], 0))
        return result(self.name, reasons)
