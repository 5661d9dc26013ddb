"""Probabilistic identity matching on synthetic customer records with known truth.

    .venv/bin/python bench/identity_match.py [--people 20000] [--chart docs/img/identity-match.png]
    .venv/bin/python bench/identity_match.py --scale 1000000   # time and memory at 1M records

Accuracy: records of each person (typos, nicknames, phone formats, moves, missing fields, shared
family emails; ``monogram.samples_people``) are matched as if each record were its own profile;
pairwise precision, recall and F1 against the truth at each threshold, for automatic merges
(the household guard applied) and for what reaches review. Scale: blocking, scoring and
clustering ``--scale`` records, the peak memory, and 1,000 new records matched incrementally
against the rest.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine

from monogram.cdp import linkage, resolve
from monogram.cdp.matching import Record, normalised, table
from monogram.samples_people import customer_records

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def accuracy(people: int, chart: Path | None) -> None:
    started = time.perf_counter()
    records = customer_records(people, seed=21)
    data = table(Record(r["record_id"], normalised(r)) for r in records.rows)
    truth = records.pairs()
    prepared = time.perf_counter() - started
    started = time.perf_counter()
    model = linkage.train(data)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    pairs = linkage.score(model, data, threshold=min(THRESHOLDS))
    scored = time.perf_counter() - started
    print(
        f"{people:,} people, {data.num_rows:,} records, {len(truth):,} true pairs; "
        f"prepare {prepared:.1f} s, train {trained:.1f} s, score {scored:.1f} s "
        f"({len(pairs):,} pairs at or above {min(THRESHOLDS)})"
    )
    print(
        "| threshold | auto: pairs | precision | recall | F1 | review: recall (all pairs >= it) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    rows = []
    for threshold in THRESHOLDS:
        auto = {
            (p.left, p.right)
            for p in pairs
            if p.probability >= threshold and resolve.household(p) is None
        }
        reached = {(p.left, p.right) for p in pairs if p.probability >= threshold}
        hit = len(auto & truth)
        precision = hit / max(1, len(auto))
        recall = hit / max(1, len(truth))
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        review = len(reached & truth) / max(1, len(truth))
        rows.append((threshold, precision, recall, f1, review))
        print(
            f"| {threshold} | {len(auto):,} | {precision:.4f} | {recall:.4f} | {f1:.4f} "
            f"| {review:.4f} |"
        )
    if chart is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(7, 4))
        labels = [str(t) for t, *_ in rows]
        for index, name in enumerate(
            ("precision (auto)", "recall (auto)", "F1", "recall (review)")
        ):
            axis.plot(labels, [row[index + 1] for row in rows], marker="o", label=name)
        axis.set_xlabel("match probability threshold")
        axis.set_ylim(0.8, 1.001)
        axis.set_title(f"Identity matching, {data.num_rows:,} synthetic records")
        axis.legend(loc="lower left")
        axis.grid(alpha=0.3)
        figure.tight_layout()
        chart.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(chart, dpi=110)
        print(f"chart: {chart}")


def scale(size: int) -> None:
    """Records are made (and cached as Parquet) in one process and matched in a fresh one, so
    the peak memory printed is the matcher's own (Linux carries a parent's peak into a child)."""
    import subprocess

    path = Path(f"/tmp/monogram-identity-{size}.parquet")
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--make-file", str(path)], check=True)
    subprocess.run([sys.executable, __file__, "--match-file", str(path)], check=True)


def make_file(path: Path) -> None:
    import pyarrow.parquet as pq

    size = int(path.stem.rsplit("-", 1)[1])
    started = time.perf_counter()
    records = customer_records(int(size / 1.9), seed=31)
    data = table(Record(r["record_id"], normalised(r)) for r in records.rows[:size])
    pq.write_table(data, path)
    print(f"{data.num_rows:,} records generated in {time.perf_counter() - started:.0f} s")


def match_file(path: Path) -> None:
    import pyarrow.parquet as pq

    data = pq.read_table(path)
    print(f"read {data.num_rows:,} records; peak memory {peak_mb():,.0f} MB")
    started = time.perf_counter()
    model = linkage.train(data)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    pairs = linkage.score(model, data, threshold=0.5)
    scored = time.perf_counter() - started
    started = time.perf_counter()
    automatic = [p for p in pairs if p.probability >= 0.99 and resolve.household(p) is None]
    clusters = resolve._clusters(automatic)
    clustered = time.perf_counter() - started
    print(
        f"match {data.num_rows:,} records: train {trained:.0f} s, block and score {scored:.0f} s "
        f"({len(pairs):,} pairs >= 0.5), cluster {clustered:.1f} s ({len(clusters):,} clusters); "
        f"total {trained + scored + clustered:.0f} s; peak memory {peak_mb():,.0f} MB"
    )
    ids = data.column("unique_id").to_pylist()
    started = time.perf_counter()
    fresh = linkage.score(model, data, threshold=0.5, new_ids=ids[-1000:])
    print(
        f"incremental: 1,000 new records against {data.num_rows - 1000:,}: "
        f"{time.perf_counter() - started:.1f} s ({len(fresh):,} pairs); "
        f"peak memory {peak_mb():,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--chart", type=Path, default=None)
    parser.add_argument("--scale", type=int, default=0, help="records for the time and memory run")
    parser.add_argument("--match-file", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--make-file", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_file:
        make_file(args.make_file)
        return
    if args.match_file:
        match_file(args.match_file)
        return
    print(f"machine: {machine()}")
    if args.scale:
        scale(args.scale)
    else:
        accuracy(args.people, args.chart)


if __name__ == "__main__":
    main()
