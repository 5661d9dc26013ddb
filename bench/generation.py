"""Generation with the bundled model: Monogram's overhead and the prefix-cache gain.

1. `personalize` writes the email placement for N customers (4 generated elements each).
   Every model call is recorded; the same calls are then replayed straight into
   llama-cpp-python (same model, same prompts, options and seeds, same order): the practical
   limit. Overhead = Monogram's time over the raw time, minus one.
2. The same element (subject) for N customers, element-major as a campaign runs it: with the
   KV cache of the shared prefix reused, against a naive call that starts from an empty cache.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _common import Recording, machine

from monogram import samples
from monogram.cdp import catalog, files
from monogram.content.llm import GenerationOptions, Message
from monogram.content.llm.llamacpp import LlamaCppModel
from monogram.core.settings import Settings
from monogram.pipeline import check_text, draft_for
from monogram.workspace import open_workspace


def main(customers: int = 12) -> None:
    ws = open_workspace(Settings(home=Path(tempfile.mkdtemp(prefix="monogram-bench-"))))
    folder = ws.home / "samples"
    samples.write_jsonl(
        folder / "events.jsonl",
        samples.events(samples.catalog(), sizes=samples.SampleSizes(customers=200)),
    )
    catalog.import_products(ws.store, enumerate(samples.catalog()))
    files.ingest_file(ws.store, ws.config, folder / "events.jsonl")
    refs = [f"user_id:cust-{n:05d}" for n in range(1, 200)]
    model = Recording(LlamaCppModel(n_ctx=1024, threads=2))
    ws.use_model(model)
    chosen = []
    for ref in refs:  # customers who allow AI-written email (select never calls the model)
        draft = draft_for(ws, ref, "email", strategy="select")
        if draft.provenance["consented"]:
            chosen.append(ref)
        if len(chosen) == customers:
            break
    # Load the gate's models (embeddings, profanity, dictionaries) before timing: a start-up
    # cost, not a per-element one.
    check_text(ws, "Fresh gear for your next run.", chosen[0], "email", "opening")
    started = time.perf_counter()
    drafts = [draft_for(ws, ref, "email", strategy="warm") for ref in chosen]
    ours = time.perf_counter() - started
    tokens = sum(c.completion_tokens for c in model.completions)
    prompt_tokens = sum(c.prompt_tokens for c in model.completions)
    generated = sum(1 for d in drafts for e in d.elements.values() if e.source == "generated")
    elements = sum(1 for d in drafts for e in d.elements.values() if e.prompt_hash)

    raw = LlamaCppModel(n_ctx=1024, threads=2)  # a fresh instance: same starting state
    started = time.perf_counter()
    for messages, options in model.calls:
        raw.complete(messages, options)
    raw_seconds = time.perf_counter() - started

    print(f"machine: {machine()}; model: {model.model_id}")
    usable = 100 * generated / max(1, elements)
    print(
        f"campaign: {len(chosen)} customers, {elements} generated elements, "
        f"{len(model.calls)} model calls, {prompt_tokens:,} prompt + {tokens:,} completion tokens"
    )
    print(
        f"  monogram: {ours:.1f} s ({tokens / ours:.0f} completion tokens/s, "
        f"{elements / ours:.2f} elements/s); usable without fallback: {generated}/{elements} "
        f"({usable:.0f}%)"
    )
    print(
        f"  raw llama-cpp-python, same calls: {raw_seconds:.1f} s "
        f"({tokens / raw_seconds:.0f} tokens/s); overhead {100 * (ours / raw_seconds - 1):+.1f}%"
    )
    gate_report(drafts)
    prefix_gain(model.calls)


def gate_report(drafts: list) -> None:  # type: ignore[type-arg]
    """Share of generated elements that passed the gate, fell back, or went to review."""
    from collections import Counter

    outcome: Counter[str] = Counter()
    failed_by: Counter[str] = Counter()
    for draft in drafts:
        for element in draft.elements.values():
            if not element.prompt_hash:
                continue
            if element.source == "generated":
                outcome["review" if element.review else "passed"] += 1
            elif element.checks:
                outcome["fallback: quality gate"] += 1
                for check in element.checks["checks"]:
                    if not check["passed"]:
                        failed_by[check["name"]] += 1
            else:
                outcome["fallback: not usable"] += 1
    total = sum(outcome.values())
    shares = ", ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in outcome.most_common())
    print(f"  gate outcome: {shares}")
    print(
        f"  failing checks: {', '.join(f'{k} {v}' for k, v in failed_by.most_common()) or 'none'}"
    )


def prefix_gain(calls: list[tuple[list[Message], GenerationOptions]]) -> None:
    subject_calls = [c for c in calls if "subject line" in c[0][0]["content"]]
    warm = LlamaCppModel(n_ctx=1024, threads=2)
    cold = LlamaCppModel(n_ctx=1024, threads=2, cache_mb=0)
    started = time.perf_counter()
    for messages, options in subject_calls:
        warm.complete(messages, options)
    reused = time.perf_counter() - started
    started = time.perf_counter()
    for messages, options in subject_calls:
        cold._llm.reset()  # naive: every customer starts from an empty KV cache
        cold.complete(messages, options)
    naive = time.perf_counter() - started
    print(
        f"prefix reuse, {len(subject_calls)} subject lines element-major: reused {reused:.2f} s, "
        f"naive {naive:.2f} s: {naive / reused:.2f}x faster with reuse"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
