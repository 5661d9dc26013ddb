"""The reply sentiment scorer against human ratings that ship in a PyPI package.

    python bench/sentiment.py          # measure the shipped weights
    python bench/sentiment.py --fit    # refit them (writes src/monogram/quality/data/sentiment.npz)

The ratings are VADER's (Hutto & Gilbert, ICWSM 2014; MIT licence), in the ``vaderSentiment``
3.3.2 source package on PyPI: about 23,700 English snippets (tweets, movie reviews, New York
Times editorials, Amazon product reviews), each rated -4..4 by about 20 people. The script
fetches that package with pip (once, into ``~/.cache/monogram-bench``). The weights are fitted
on the tweets, movie and editorial snippets; the Amazon review snippets (closest to what
customers write to a shop) are kept out and are the measure.

Reported per set: polarity accuracy (the sign, on snippets rated at least +-0.5), three-class
accuracy (negative / neutral / positive, cut at +-0.5), Pearson r, and the cost per message.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
from _common import machine

from monogram.quality import sentiment
from monogram.quality.embed import embed

CACHE = Path.home() / ".cache" / "monogram-bench" / "vader"
SETS = ("tweets", "movieReviewSnippets", "nytEditorialSnippets", "amazonReviewSnippets")
FIT = SETS[:3]
HELD_OUT = "amazonReviewSnippets"
WEIGHTS = Path(__file__).parents[1] / "src" / "monogram" / "quality" / "data" / "sentiment.npz"


def ratings() -> dict[str, list[tuple[float, str]]]:
    """{set: [(mean rating, text)]}, from the vaderSentiment source package."""
    CACHE.mkdir(parents=True, exist_ok=True)
    found = list(CACHE.glob("vaderSentiment-3.3.2.tar.gz"))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "vaderSentiment==3.3.2",
                "-d",
                str(CACHE),
            ],
            check=True,
        )
        found = list(CACHE.glob("vaderSentiment-3.3.2.tar.gz"))
    out: dict[str, list[tuple[float, str]]] = {}
    with tarfile.open(found[0]) as outer:
        inner_file = outer.extractfile(
            "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
        )
        assert inner_file is not None
        with tarfile.open(fileobj=io.BytesIO(inner_file.read())) as inner:
            for name in SETS:
                member = inner.extractfile(f"hutto_ICWSM_2014/{name}_GroundTruth.txt")
                assert member is not None
                rows = []
                for line in member.read().decode("utf-8", "replace").splitlines():
                    parts = line.split("\t")
                    if len(parts) >= 3 and parts[2].strip():
                        rows.append((float(parts[1]), parts[2].strip()))
                out[name] = rows
    return out


def vectors(rows: list[tuple[float, str]], label: str) -> np.ndarray:
    from rich.progress import track

    texts = [t for _, t in rows]
    batches = range(0, len(texts), 64)
    parts = [embed(texts[i : i + 64]) for i in track(batches, description=f"embedding {label}")]
    return np.vstack(parts)


def measure(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """``p`` and ``y`` on the -4..4 rating scale."""
    signed = np.abs(y) >= 0.5
    gold = np.where(y >= 0.5, 1, np.where(y <= -0.5, -1, 0))
    pred = np.where(p >= 0.5, 1, np.where(p <= -0.5, -1, 0))
    return {
        "n": float(len(y)),
        "polarity": float(np.mean(np.sign(p[signed]) == np.sign(y[signed]))),
        "three_class": float(np.mean(gold == pred)),
        "r": float(np.corrcoef(y, p)[0, 1]),
    }


def fit(x: np.ndarray, y: np.ndarray, ridge: float = 1.0) -> tuple[np.ndarray, float]:
    xb = np.hstack([x, np.ones((len(x), 1), dtype=x.dtype)])
    penalty = ridge * np.eye(xb.shape[1])
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    solved = np.linalg.solve(xb.T @ xb + penalty, xb.T @ y)
    return solved[:-1].astype(np.float32), float(solved[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit and write the weights")
    args = parser.parse_args()
    data = ratings()
    embedded = {name: vectors(rows, name) for name, rows in data.items()}
    gold = {name: np.array([r for r, _ in rows]) for name, rows in data.items()}
    if args.fit:
        w, b = fit(np.vstack([embedded[n] for n in FIT]), np.concatenate([gold[n] for n in FIT]))
        np.savez(WEIGHTS, w=w, b=np.float32(b))
        sentiment._weights.cache_clear()
        print(f"wrote {WEIGHTS} (fitted on {', '.join(FIT)})")
    print(f"machine: {machine()}")
    print("| set | snippets | polarity accuracy | three-class accuracy | Pearson r | role |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in SETS:
        m = measure(gold[name], sentiment.scores(embedded[name]) * 4.0)
        role = "held out (the measure)" if name == HELD_OUT else "fitted on"
        print(
            f"| {name} | {int(m['n'])} | {m['polarity']:.3f} | {m['three_class']:.3f} "
            f"| {m['r']:.3f} | {role} |"
        )
    sample = [t for _, t in data[HELD_OUT][:200]]
    sentiment.score(sample[:1])  # load the model
    start = time.perf_counter()
    for text in sample:
        sentiment.score([text])
    one = (time.perf_counter() - start) / len(sample) * 1000
    start = time.perf_counter()
    sentiment.score(sample)
    batched = (time.perf_counter() - start) / len(sample) * 1000
    print(f"cost: {one:.1f} ms a message one at a time, {batched:.1f} ms in a batch of 200")


if __name__ == "__main__":
    main()
