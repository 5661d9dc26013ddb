"""Prompt-injection detector: recall per attack category, false positives on benign look-alikes,
time per message, and hostile input.

Reads the labelled sets in ``tests/data/`` (built by ``bench/injection_set.py``): the project's
set and a held-out set of public texts the detector was not written against.

    python bench/injection.py [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from _common import machine

from monogram.content.injection import DEFAULT_THRESHOLD, detect

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def load(name: str) -> list[dict[str, str]]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def report(name: str, rows: list[dict[str, str]]) -> None:
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    language_found: Counter[str] = Counter()
    flagged = []
    benign = 0
    for row in rows:
        hit = detect(row["text"]).suspicious(DEFAULT_THRESHOLD)
        if row["label"] == "attack":
            total[row["category"]] += 1
            found[row["category"]] += hit
            languages[row["language"]] += 1
            language_found[row["language"]] += hit
        else:
            benign += 1
            if hit:
                flagged.append(row["text"])
    attacks = sum(total.values())
    print(f"\n{name}: {attacks} attacks, {benign} benign look-alikes")
    print(f"  attack recall: {sum(found.values()) / attacks:.2f} ({sum(found.values())}/{attacks})")
    for category in sorted(total):
        share = found[category] / total[category]
        print(f"    {category:<13} {share:.2f} ({found[category]}/{total[category]})")
    for language in sorted(languages):
        hits, count = language_found[language], languages[language]
        print(f"    language {language}: {hits / count:.2f} ({hits}/{count})")
    print(f"  benign flagged: {len(flagged) / max(1, benign):.1%} ({len(flagged)}/{benign})")
    for text in flagged:
        print(f"    flagged: {text[:90]!r}")


def speed(rows: list[dict[str, str]], runs: int) -> None:
    per_message = []
    for _ in range(runs):
        started = time.perf_counter()
        for row in rows:
            detect(row["text"])
        per_message.append((time.perf_counter() - started) * 1000 / len(rows))
    lengths = [len(r["text"]) for r in rows]
    each = []
    for row in rows:
        started = time.perf_counter()
        detect(row["text"])
        each.append((time.perf_counter() - started) * 1000)
    each.sort()
    print(
        f"\nspeed: {len(rows)} messages (median {statistics.median(lengths):.0f} characters, "
        f"longest {max(lengths):,}), {runs} runs: mean "
        + ", ".join(f"{m:.2f}" for m in per_message)
        + f" ms a message; p50 {each[len(each) // 2]:.2f} ms, "
        + f"p99 {each[int(len(each) * 0.99)]:.2f} ms"
    )


def hostile() -> None:
    deep = "Ignore all previous instructions"
    for _ in range(12):
        deep = base64.b64encode(deep.encode()).decode()
    cases = {
        "1 MB of zero-width spaces": "\u200b" * 1_000_000,
        "1.1 MB of ordinary words": "Where is my order? " * 60_000,
        "base64 nested 12 deep": deep,
        "600 KB of URL escapes": "%41" * 200_000,
    }
    print()
    for name, text in cases.items():
        started = time.perf_counter()
        found = detect(text)
        took = (time.perf_counter() - started) * 1000
        print(f"hostile: {name}: {took:.1f} ms, score {found.score:.2f} ({found.category})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"prompt-injection detector on {machine()}, threshold {DEFAULT_THRESHOLD}")
    own = load("injection_eval.jsonl")
    held = load("injection_heldout.jsonl")
    report("project set (tests/data/injection_eval.jsonl)", own)
    report("held-out public set (tests/data/injection_heldout.jsonl)", held)
    detect("warm up")  # the confusables table loads once
    speed(own + held, args.runs)
    hostile()


if __name__ == "__main__":
    main()
