"""Brand voice: words to avoid, emoji and exclamation policy, shouting, a negative tone, and a
reading level in the brand's range."""

from __future__ import annotations

import re

import numpy as np

from monogram.quality.checks import CheckInput, CheckResult, Reason, find_all, result
from monogram.quality.embed import embed_one

EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u2b50\u2b55\u203c\u2049\u2122\u2139\u231a-\u23ff]"
)
SHOUT = re.compile(r"\b[A-Z]{4,}\b")
NEGATIVE = re.compile(
    r"\b(?:hate|terrible|awful|horrible|disgusting|sadly|miserable|worst|ugly|useless|shame on|boring|pathetic)\b",
    re.IGNORECASE,
)
ACRONYMS = {"USA", "NASA", "HTML", "GORE", "HTTP", "HTTPS", "FAQ"}


def syllables(word: str) -> int:
    word = word.lower()
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups) - (1 if word.endswith("e") and len(groups) > 1 else 0)
    return max(1, count)


def grade_level(text: str) -> float | None:
    """Flesch-Kincaid grade; None for text too short to judge."""
    words = re.findall(r"[A-Za-z']+", text)
    if len(words) < 12:
        return None
    sentences = max(1, len(re.findall(r"[.!?]+", text)))
    return (
        0.39 * len(words) / sentences + 11.8 * sum(syllables(w) for w in words) / len(words) - 15.59
    )


def exemplar_similarity(item: CheckInput) -> float | None:
    """Highest similarity to the brand's approved copy for this element (None without any)."""
    examples = item.brand.exemplar_texts(item.element.exemplars or item.element.name)
    if not examples or not item.text.strip():
        return None
    vector = embed_one(item.text)
    return max(float(np.dot(vector, embed_one(example))) for example in examples)


class BrandVoiceCheck:
    name = "brand_voice"

    def __call__(self, item: CheckInput) -> CheckResult:
        text, brand = item.text, item.brand
        reasons: list[Reason] = []
        for word in brand.avoid_words:
            forms = r"[\s\-]+".join(re.escape(w) for w in word.split())
            pattern = re.compile(rf"(?<!\w){forms}(?:s|es|ed|ing|er|est)?(?!\w)", re.IGNORECASE)
            reasons += find_all(pattern, text, "a word the brand avoids")
        if brand.emoji == "never":
            reasons += find_all(EMOJI, text, "an emoji")
        if text.count("!") > brand.max_exclamations:
            reasons.append(
                Reason(
                    f"{text.count('!')} exclamation marks; at most {brand.max_exclamations}", "!"
                )
            )
        reasons += [
            r for r in find_all(SHOUT, text, "shouting in capitals") if r.span not in ACRONYMS
        ]
        negatives = find_all(NEGATIVE, text, "a negative tone")
        if negatives:
            reasons += negatives
        voice = exemplar_similarity(item)
        grade = grade_level(text)
        if grade is not None and grade > brand.reading_level.max_grade + 2:
            reasons.append(
                Reason(
                    f"reading grade {grade:.1f}; the brand aims for at most {brand.reading_level.max_grade:g}"
                )
            )
        checked = result(self.name, reasons)
        if checked.passed and voice is not None:
            checked.score = round(voice, 4)  # how close to the brand's approved copy it reads
        return checked
