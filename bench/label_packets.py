"""Rating packets for generated texts that no label covers yet, and merging the ratings back.

The labelled set (tests/data/content_labels.jsonl) is the judge of the content benchmark. A
new prompt, model or gate choice writes texts no label covers; this writes them out in
packets a rater can work through blind (the protocol from docs/quality.md, the element's
task and limit, exactly the data block the model saw, and the text: never the gate's verdict,
the model or the other candidates), then adds the ratings to the set.

    python bench/content_quality.py --out run.jsonl
    python bench/label_packets.py packets run.jsonl --dir packets --size 50
    # each rater writes packets/ratings-NN.jsonl: {"id": ..., "label": 0|1|2, "reason": ...}
    python bench/label_packets.py merge packets --round round5

Rows get a ``split`` from the text's SHA-256 (even: ``dev``, odd: ``holdout``), as rounds
one to three did, so a check can be written against one half and measured on the other.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

import orjson
from _common import fresh_workspace

from monogram import evaluate
from monogram.content.placements import get_placement
from monogram.content.prompts import build_prompt

LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "content_labels.jsonl"
PROTOCOL_START = "## How generated content is rated"
PROTOCOL_END = "## Customer text in approved copy"
# What the gate reads from a stored context (the rest is provenance the labels do not need).
CONTEXT_KEYS = {
    "profile",
    "lifecycle_stage",
    "segments",
    "computed",
    "purchases",
    "zero_party",
    "recommended_products",
    "brand",
    "product",
    "order",
}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "quality.md"


def protocol() -> str:
    text = DOCS.read_text()
    return text[text.index(PROTOCOL_START) : text.index(PROTOCOL_END)].strip()


def split_of(text: str) -> str:
    return "dev" if int(hashlib.sha256(text.encode()).hexdigest(), 16) % 2 == 0 else "holdout"


def packets(outputs: Path, folder: Path, size: int, labels: Path) -> None:
    known = evaluate.read_labels(labels) if labels.exists() else {}
    rows = [orjson.loads(line) for line in outputs.read_text().splitlines() if line.strip()]
    seen: set[tuple[str, str, str, str]] = set()
    todo = []
    for row in rows:
        key = (row["placement"], row["element"], row["customer"], row["text"])
        if key not in known and key not in seen and row["text"].strip():
            seen.add(key)
            todo.append(row)
    ws = fresh_workspace()
    brand, specs = ws.brand(), ws.placements()
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    rules = protocol()
    for number, start in enumerate(range(0, len(todo), size), 1):
        lines = [rules, "", "# Texts to rate", ""]
        lines += [
            f"Answer with one JSON line per text in ratings-{number:02d}.jsonl: "
            '{"id": "...", "label": 0, 1 or 2, "reason": "a few words"}.',
            "",
        ]
        for offset, row in enumerate(todo[start : start + size]):
            ident = f"p{number:02d}-{offset:03d}"
            spec = get_placement(specs, row["placement"])
            element = next(e for e in spec.generated() if e.name == row["element"])
            strategy = next(s for s in spec.strategies if s.name == row["strategy"])
            source = {**row["context"], "input": row.get("inputs") or row["context"].get("input")}
            prompt = build_prompt(brand, spec, element, strategy, source)
            data = [m["content"] for m in prompt.messages if m["role"] == "user"][-1]
            limit = f"at most {element.max_chars} characters" if element.max_chars else ""
            lines += [
                f"## {ident}: {row['placement']} / {row['element']} ({limit})",
                f"Task: {element.instruction.strip()}",
                "Data the model was given:",
                "```",
                data,
                "```",
                f"Text: {row['text']}",
                "",
            ]
            index.append({"id": ident, **row})
        (folder / f"packet-{number:02d}.md").write_text("\n".join(lines))
    (folder / "index.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in index))
    print(f"{len(todo)} texts without a label, in {folder}/packet-*.md", file=sys.stderr)


def merge(folder: Path, round_name: str, labels: Path) -> None:
    index = {
        row["id"]: row
        for row in map(orjson.loads, (folder / "index.jsonl").read_text().splitlines())
    }
    known = evaluate.read_labels(labels) if labels.exists() else {}
    added: list[dict[str, Any]] = []
    for path in sorted(folder.glob("ratings-*.jsonl")):
        rater = f"{round_name}-r{path.stem.split('-')[-1]}"
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            rating = orjson.loads(line)
            if rating.get("id") not in index:
                raise SystemExit(f"{path}:{number}: id {rating.get('id')!r} is in no packet")
            if rating.get("label") not in (0, 1, 2) or not str(rating.get("reason", "")).strip():
                raise SystemExit(f"{path}:{number}: label must be 0, 1 or 2 with a reason")
            row = index.pop(rating["id"])
            key = (row["placement"], row["element"], row["customer"], row["text"])
            if key in known:
                continue  # merged before (a second merge of the same folder adds nothing)
            known[key] = rating
            added.append(
                {
                    "placement": row["placement"],
                    "element": row["element"],
                    "customer": row["customer"],
                    "model": row["model"],
                    "strategy": row["strategy"],
                    "text": row["text"],
                    "label": rating["label"],
                    "reason": str(rating["reason"]).strip(),
                    "rater": rater,
                    "split": split_of(row["text"]),
                    "context": {
                        **{k: v for k, v in row["context"].items() if k in CONTEXT_KEYS},
                        "input": row.get("inputs") or row["context"].get("input") or {},
                    },
                }
            )
    with labels.open("ab") as handle:
        for row in added:
            handle.write(orjson.dumps(row) + b"\n")
    print(f"{len(added)} ratings added to {labels}; {len(index)} texts still unrated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("packets", help="write rating packets for unlabelled outputs")
    make.add_argument("outputs", type=Path, help="bench/content_quality.py --out file")
    make.add_argument("--dir", type=Path, required=True)
    make.add_argument("--size", type=int, default=50)
    make.add_argument("--labels", type=Path, default=LABELS)
    back = sub.add_parser("merge", help="add the raters' answers to the labelled set")
    back.add_argument("dir", type=Path)
    back.add_argument("--round", required=True, help="rater name prefix, e.g. round5")
    back.add_argument("--labels", type=Path, default=LABELS)
    args = parser.parse_args()
    if args.command == "packets":
        packets(args.outputs, args.dir, args.size, args.labels)
    else:
        merge(args.dir, args.round, args.labels)


if __name__ == "__main__":
    main()
