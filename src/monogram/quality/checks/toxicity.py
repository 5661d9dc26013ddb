"""Toxicity: a bundled linear profanity model (alt-profanity-check), a lexicon of insults
without swear words, embedding similarity to insult and identity-attack prototypes, and the
brand's own deny-list; marketing idioms ("killer deal") are allowed."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from monogram.quality.checks import CheckInput, CheckResult, Reason, find_all, result
from monogram.quality.embed import embed, embed_one

IDIOMS = re.compile(
    r"\bkiller (?:deals?|prices?|views?|looks?|app)\b|\bcrush(?:ing)? (?:it|your goals?|the trail|your pb)\b"
    r"|\bsick (?:deals?|trails?|lines?)\b|\bbeast mode\b|\bslay(?:ing)? (?:it|the day)\b|\bto die for\b|\bdressed to kill\b",
    re.I,
)
INSULTS = re.compile(
    r"\b(?:stupid|idiot\w*|moron\w*|dumb\w*|loser\w*|pathetic|worthless|clueless|lazy|ugly|fat|disgusting|"
    r"imbecile\w*|incompetent|useless|brainless|fool(?:s|ish)?|freak\w*|pig|slob|creep|trash|garbage)\b",
    re.I,
)
PROTOTYPES = [
    "you are stupid and worthless",
    "only an idiot would buy this",
    "people like you are pathetic",
    "you are too fat and lazy to run",
    "nobody wants someone as ugly as you",
    "your kind is not welcome here",
    "go back to where you came from",
    "women are too weak for real hiking",
    "old people are useless",
    "you should be ashamed of yourself, loser",
    "shut up and buy something for once",
    "you clearly have no taste",
]
# Ordinary copy, to compare with: short texts all sit close together in embedding space, so a
# text reads as an attack only when it is nearer the attacks than any of these.
BENIGN = [
    "your gear, your next adventure",
    "fresh picks for your next run",
    "thanks for your order, here are a few new arrivals",
    "the jacket is made from recycled nylon with a two-year warranty",
    "we are sorry your order is late and we are checking where it is",
    "your mat, your practice",
    "camping season is back, with new kit for your next trip",
    "a great tent for your next camping trip",
]
SIMILARITY_THRESHOLD = 0.86
PROFANITY_THRESHOLD = 0.6


@lru_cache(maxsize=1)
def _prototypes() -> np.ndarray:
    return embed(PROTOTYPES)


@lru_cache(maxsize=1)
def _benign() -> np.ndarray:
    return embed(BENIGN)


_scores: dict[str, float] = {}


def toxicity_prototypes() -> None:
    """Embed the insult and benign prototypes now (they are embedded once per process)."""
    _prototypes()
    _benign()


def masked(text: str) -> str:
    """The text with allowed idioms ("killer deal") blanked out."""
    return IDIOMS.sub(lambda m: "x" * len(m.group(0)), text)


def prime(texts: list[str]) -> None:
    """Score many texts in one batch (the model is much faster batched); later lookups hit."""
    missing = [t for t in dict.fromkeys(masked(t) for t in texts) if t not in _scores]
    if missing:
        from profanity_check import predict_prob

        if len(_scores) > 10_000:
            _scores.clear()
        _scores.update(zip(missing, (float(p) for p in predict_prob(missing)), strict=True))


def _profanity(texts: list[str]) -> list[float]:
    prime(texts)
    return [_scores[t] for t in texts]


class ToxicityCheck:
    name = "toxicity"

    def __call__(self, item: CheckInput) -> CheckResult:
        blanked = masked(item.text)
        reasons = find_all(INSULTS, blanked, "an insult")
        deny = [w for w in item.brand.avoid_words if w.lower() in ("idiot", "stupid")]
        if deny:
            reasons += find_all(
                re.compile("|".join(map(re.escape, deny)), re.I),
                blanked,
                "on the brand's deny-list",
            )
        limits = item.placement.gate.thresholds
        profanity = _profanity([blanked])[0]
        if profanity >= limits.get("profanity", PROFANITY_THRESHOLD):
            reasons.append(Reason(f"profanity (model score {profanity:.2f})", item.text[:60]))
        vector = embed_one(blanked)
        similarity = float(np.max(_prototypes() @ vector))
        ordinary = float(np.max(_benign() @ vector))
        if similarity >= limits.get("toxicity", SIMILARITY_THRESHOLD) and similarity > ordinary:
            reasons.append(
                Reason(
                    f"reads like an insult or identity attack (similarity {similarity:.2f})",
                    item.text[:60],
                )
            )
        score = 1.0 - max(profanity, max(0.0, (similarity - 0.7) / 0.3))
        checked = result(self.name, reasons)
        if checked.passed:
            checked.score = max(0.0, min(1.0, score))
        return checked
