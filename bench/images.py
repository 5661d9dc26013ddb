"""Creatives: how long the ``compose`` layout takes per creative, per size and layout, with a
catalogue picture; what a cache hit costs; and whether identical inputs give identical bytes.

    .venv/bin/python bench/images.py [--renders 200]

Each render has its own headline, so none is a cache hit; the picture is a 1600x1600 photo-like
image decoded once, as the backend keeps it per product: its crop per size is made on the
product's first creative (timed apart) and shared by every later one. Encoding: --format auto
(the default) is PNG for text on colour and JPEG over the picture, as image elements do.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_workspace, machine

from monogram.content.brand import Visual
from monogram.content.images import ImageStore, Job, Picture, lay_out, render

SIZES = [(1200, 628), (1080, 1080), (600, 300)]


def photo(size: int = 1600) -> Image.Image:
    """A smooth, photo-like picture (gradients plus noise: compresses like a photograph)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([120 + 80 * x, 100 + 90 * y, 80 + 60 * (1 - x) * y], axis=-1)
    noisy = base + rng.normal(0, 12, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype("uint8"))


def job(width: int, height: int, layout: str, picture: Picture, index: int, fmt: str) -> Job:
    visual = Visual()
    return Job(
        width=width,
        height=height,
        texts={
            "headline": f"Trail shoes for muddy miles, no. {index}",
            "body": "The Ridgeline Trail Shoe, with a natural rubber sole.",
            "product": "Ridgeline Trail Shoe",
            "price": "$129.00",
            "cta": "Shop now",
        },
        colourway=visual.colourways["default"],
        layout=layout,
        picture=picture,
        visual=visual,
        home=Path("."),
        brand="Trailhead & Co.",
        format=fmt,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=200, help="per size and layout")
    parser.add_argument("--format", choices=["auto", "png", "webp", "jpeg"], default="auto")
    args = parser.parse_args()
    ws = fresh_workspace()
    store = ImageStore(ws.store)
    picture = Picture(photo(), "bench-photo", "product")
    print(f"machine: {machine()}; {args.renders} renders per row, format {args.format}")
    print(
        "| size | layout | format | layout and draw, median ms | with encoding and storing, "
        "median ms | p95 ms | a product's first creative, median ms | file KB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    render(job(1200, 628, "split", picture, -1, "png"), store)  # fonts loaded once
    for width, height in SIZES:
        for layout in ("split", "full", "text"):
            shown = picture if layout != "text" else Picture(None)
            fmt = args.format
            if fmt == "auto":
                fmt = "png" if layout == "text" else "jpeg"
            first = []
            for index in range(20):  # a new product each time: no crop to share yet
                fresh = Picture(shown.image, f"fresh-{index}", "product") if shown.image else shown
                started = time.perf_counter()
                render(job(width, height, layout, fresh, index + 200_000, fmt), store)
                first.append(time.perf_counter() - started)
            drawing, total, sizes = [], [], []
            for index in range(args.renders):
                this = job(width, height, layout, shown, index, fmt)
                started = time.perf_counter()
                lay_out(this)
                drawing.append(time.perf_counter() - started)
                this = job(width, height, layout, shown, index + 100_000, fmt)
                started = time.perf_counter()
                made = render(this, store)
                total.append(time.perf_counter() - started)
                sizes.append(made.bytes)
            p95 = sorted(total)[int(len(total) * 0.95) - 1]
            print(
                f"| {width}x{height} | {layout} | {fmt} | {statistics.median(drawing) * 1000:.1f} "
                f"| {statistics.median(total) * 1000:.1f} | {p95 * 1000:.1f} "
                f"| {statistics.median(first) * 1000:.1f} | {statistics.median(sizes) / 1024:.0f} |"
            )
    # A cache hit: the same inputs again.
    same = job(1200, 628, "split", picture, 0, "jpeg")
    first = render(same, store)
    started = time.perf_counter()
    for _ in range(args.renders):
        hit = render(same, store)
    per_hit = (time.perf_counter() - started) / args.renders
    assert hit.cached and hit.name == first.name
    # Identical inputs in another workspace: byte-identical files.
    other = ImageStore(fresh_workspace().store)
    again = render(same, other)
    identical = other.read(again.name) == store.read(first.name)
    print(
        f"cache hit (1200x628): {per_hit * 1000:.2f} ms; identical inputs in a fresh "
        f"workspace give identical bytes: {identical}"
    )


if __name__ == "__main__":
    main()
