"""Sentiment of what a customer writes back (an email reply, a support follow-up).

A linear read-out on the bundled multilingual-e5-small embeddings (the vectors the gate already
computes, so nothing else is loaded), fitted by ``bench/sentiment.py --fit`` to the human
ratings that ship with VADER's source package on PyPI (``vaderSentiment`` 3.3.2,
``additional_resources/hutto_ICWSM_2014``: tweets, movie reviews and New York Times editorial
snippets, each rated -4..4 by about 20 people). The Amazon review snippets of the same set are
kept out of the fit and used to measure it (docs/learning.md has the figures). The weights ship
in the package (``data/sentiment.npz``, 1.6 KB): nothing is downloaded.

Scores run from -1 (very negative) to 1 (very positive); the labels cut at the ratings' +-0.5
(of 4): ``negative``, ``neutral``, ``positive``. The embedding model is multilingual, so replies
in German, French or Spanish are read too (less well measured: the ratings are English).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np

from monogram.quality.embed import embed

CUT = 0.5 / 4  # a rating of +-0.5 on the -4..4 scale


@dataclass(frozen=True)
class Sentiment:
    score: float  # -1 .. 1
    label: str  # negative | neutral | positive


@functools.lru_cache(maxsize=1)
def _weights() -> tuple[np.ndarray, float]:
    path = resources.files("monogram") / "quality" / "data" / "sentiment.npz"
    with path.open("rb") as handle:
        data = np.load(handle)
        return data["w"].astype(np.float32), float(data["b"])


def label_of(score: float) -> str:
    if score >= CUT:
        return "positive"
    if score <= -CUT:
        return "negative"
    return "neutral"


def scores(vectors: np.ndarray) -> np.ndarray:
    """Scores in [-1, 1] for embedding rows (``embed``'s unit vectors)."""
    w, b = _weights()
    clipped: np.ndarray = np.clip((vectors @ w + b) / 4.0, -1.0, 1.0)
    return clipped


def score(texts: list[str]) -> list[Sentiment]:
    """One ``Sentiment`` per text; an empty text is neutral."""
    if not texts:
        return []
    out = [Sentiment(0.0, "neutral")] * len(texts)
    filled = [i for i, t in enumerate(texts) if t.strip()]
    if filled:
        values = scores(embed([texts[i] for i in filled]))
        for i, value in zip(filled, values, strict=True):
            out[i] = Sentiment(float(value), label_of(float(value)))
    return out
