"""Content quality: every placement for a fixed sample of demo customers, judged by labels.

Builds the demo workspace (the same generated shop and events as `monogram demo`), writes
the five placements for the first 40 customers who allow every purpose, and reports per
placement: the share the gate passes (the rest fall back to approved copy), seconds per
generated element and, against the labelled set in tests/data/content_labels.jsonl (rated by
the protocol in docs/quality.md), the share rated usable, usable-and-passed, passed-but-
unusable, and the share of texts rated 2 that the gate passes.

    python bench/content_quality.py                      # the bundled model
    python bench/content_quality.py --gguf path/to.gguf  # another GGUF model
    python bench/content_quality.py --out outputs.jsonl  # keep every output (for labelling)
    python bench/content_quality.py --from outputs.jsonl # score a kept run again (new labels)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _common import fresh_workspace, machine

from monogram import demo, evaluate
from monogram.content.llm.llamacpp import LlamaCppModel

LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "content_labels.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--gguf", type=Path, help="a GGUF model (default: the bundled one)")
    parser.add_argument("--chat-format", help="for a GGUF without a chat template (e.g. gemma)")
    parser.add_argument("--out", type=Path, help="write every output as JSON lines")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument(
        "--from", dest="saved", type=Path, help="score a run kept with --out (no model)"
    )
    args = parser.parse_args()
    if args.saved:
        outputs = evaluate.read_outputs(args.saved)
        labels = evaluate.read_labels(args.labels) if args.labels.exists() else {}
        print(f"{len(outputs)} generated elements from {args.saved}")
        print(evaluate.format_report(evaluate.report(outputs, labels)))
        return

    ws = fresh_workspace()
    data = demo.write_samples(ws)
    demo.load_samples(ws, data)
    ws.use_model(LlamaCppModel(args.gguf, chat_format=args.chat_format))
    customers = evaluate.sample_customers(ws, args.customers)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} placements written", end="", file=sys.stderr, flush=True)

    outputs = evaluate.run(ws, customers, progress=progress)
    print(file=sys.stderr)
    wall = time.perf_counter() - started
    if args.out:
        evaluate.write_outputs(outputs, args.out)
    labels = evaluate.read_labels(args.labels) if args.labels.exists() else {}
    figures = evaluate.report(outputs, labels)
    print(f"machine: {machine()}; model: {ws.model().model_id}")
    print(
        f"{len(customers)} customers, {len(outputs)} generated elements in {wall:.0f} s "
        f"({wall / max(1, len(outputs)):.2f} s per element, one process)"
    )
    print(evaluate.format_report(figures))


if __name__ == "__main__":
    main()
