"""The learning loop: regret on the simulated world (Thompson and Vowpal Wabbit, through the
real decision log), choose latency on a store, rewards per second, OPE interval coverage, and a
rehearsal of three weeks of campaigns on the demo's sample data."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine

from monogram import demo
from monogram.campaigns.rehearsal import rehearse
from monogram.core.settings import Settings
from monogram.learning import store as learning
from monogram.learning.evaluation import evaluate
from monogram.learning.simulator import (
    DEFAULT_WORLD,
    SegmentWorld,
    World,
    logged_data,
    simulate,
    true_value,
)
from monogram.workspace import open_workspace


def regret(rounds: int) -> None:
    for backend, floor in (("thompson", 0.01), ("vw", 0.03)):
        started = time.perf_counter()
        result = simulate(DEFAULT_WORLD, rounds, seed=3, floor=floor, backend=backend)
        seconds = time.perf_counter() - started
        share = result["regret"] / result["uniform_regret"]
        found = sum(b["true"] == b["learned"] for b in result["best_strategy_per_segment"].values())
        print(
            f"simulate {backend:<8} floor {floor}: {rounds:,} decisions in {seconds:.1f} s "
            f"({rounds / seconds:,.0f}/s), regret {100 * share:.1f}% of uniform's, "
            f"best strategy found for {found} of {len(result['best_strategy_per_segment'])}"
        )


def choose_latency(n: int = 2000) -> None:
    ws = open_workspace(Settings(home=Path(tempfile.mkdtemp(prefix="monogram-bench-"))))
    ws.config.learning.policy = "learned"
    placement = ws.placements()["email"]
    times = []
    made = []
    for i in range(n):
        started = time.perf_counter()
        with ws.store.write() as conn:
            decision = learning.choose(
                conn,
                ws.config,
                placement,
                {"lifecycle_stage": ("active", "new", "lapsed")[i % 3]},
                profile_id=f"p{i}",
                key=(str(i),),
            )
        times.append(time.perf_counter() - started)
        made.append((decision.decision_id, float(i % 7 == 0)))
    times.sort()
    p50, p99 = 1000 * statistics.median(times), 1000 * times[int(0.99 * len(times))]
    print(f"choose (one decision, own transaction, SQLite): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    started = time.perf_counter()
    with ws.store.write() as conn:
        learning.reward_many(conn, ws.config, ws.placements(), made)
    seconds = time.perf_counter() - started
    print(f"reward_many: {len(made):,} rewards in {seconds:.2f} s ({len(made) / seconds:,.0f}/s)")
    ws.close()


def coverage(runs: int = 40) -> None:
    world = DEFAULT_WORLD
    segments, actions = len(world.segments), len(world.strategies)
    logging = np.full((segments, actions), 1 / actions)
    target = np.full((segments, actions), 0.05)
    for row, name in enumerate(world.segments):
        rates = world.segments[name].rates
        target[row, world.strategies.index(max(rates, key=rates.get))] = 1 - 0.05 * (actions - 1)
    truth = true_value(world, target)
    covered = {"ips": 0, "snips": 0, "dr": 0}
    for seed in range(runs):
        logs, _ = logged_data(world, 20_000, logging, seed=100 + seed)
        result = evaluate(logs, target[logs.buckets], boot=200, seed=seed)
        for name in covered:
            covered[name] += result[name]["low"] <= truth <= result[name]["high"]
    print(
        "OPE 95% interval covers the true value: "
        + ", ".join(f"{k} {v}/{runs}" for k, v in covered.items())
    )


def rehearsal() -> None:
    ws = open_workspace(Settings(home=Path(tempfile.mkdtemp(prefix="monogram-bench-"))))
    demo.load_samples(ws, demo.write_samples(ws, customers=2000))
    started = time.perf_counter()
    result = rehearse(ws, weeks=3, per_week=2)
    seconds = time.perf_counter() - started
    rates = [r["click_rate"] for r in result["campaigns"]]
    learned = result["best_strategy_per_context"]
    found = sum(b["true"] == b["learned"] for b in learned.values())
    print(
        f"rehearsal, 6 campaigns of {result['campaigns'][0]['decisions']:,} decisions in "
        f"{seconds:.1f} s: click rate {rates[0]:.3f} -> {rates[-1]:.3f} "
        f"(first -> last); learned {found} of {len(learned)} stages"
    )
    ws.close()


# Prompt variants as arms: one strategy written three ways plus approved copy, and a different
# variant truly best in each of four segments.
VARIANT_WORLD = World(
    strategies=["warm", "warm__short", "warm__question", "warm__story", "select"],
    segments={
        "lapsed": SegmentWorld(
            share=1,
            rates={
                "warm": 0.05,
                "warm__short": 0.09,
                "warm__question": 0.05,
                "warm__story": 0.04,
                "select": 0.04,
            },
        ),
        "active": SegmentWorld(
            share=1,
            rates={
                "warm": 0.07,
                "warm__short": 0.08,
                "warm__question": 0.12,
                "warm__story": 0.06,
                "select": 0.05,
            },
        ),
        "new": SegmentWorld(
            share=1,
            rates={
                "warm": 0.06,
                "warm__short": 0.05,
                "warm__question": 0.06,
                "warm__story": 0.10,
                "select": 0.05,
            },
        ),
        "vip": SegmentWorld(
            share=1,
            rates={
                "warm": 0.11,
                "warm__short": 0.07,
                "warm__question": 0.08,
                "warm__story": 0.08,
                "select": 0.06,
            },
        ),
    },
    delay=50,
)


def variants(rounds: int, seeds: tuple[int, ...] = (1, 2, 3)) -> None:
    """The loop with prompt variants as arms and retirement every 5,000 decisions."""
    for seed in seeds:
        started = time.perf_counter()
        result = simulate(VARIANT_WORLD, rounds, seed=seed, retire_every=5_000, retire_min=100)
        best = result["best_strategy_per_segment"]
        found = sum(b["true"] == b["learned"] for b in best.values())
        share = result["reward"] / result["oracle_reward"]
        uniform = result["uniform_reward"] / result["oracle_reward"]
        losers = sum(
            1 for r in result["retired"] if best[r["segment"].split("=")[1]]["true"] != r["arm"]
        )
        print(
            f"variants seed {seed}: {rounds:,} decisions in {time.perf_counter() - started:.0f} s; "
            f"best variant found in {found} of {len(best)} segments; reward {100 * share:.1f}% "
            f"of the oracle's (uniform {100 * uniform:.1f}%); "
            f"{len(result['retired'])} arms retired ({losers} of them losers), first at decision "
            f"{min((r['round'] for r in result['retired']), default=0):,}"
        )


def main(rounds: int = 50_000) -> None:
    print(f"machine: {machine()}")
    if "--variants" in sys.argv:
        variants(rounds)
        return
    regret(rounds)
    choose_latency()
    coverage()
    rehearsal()


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    main(int(numbers[0]) if numbers else 50_000)
