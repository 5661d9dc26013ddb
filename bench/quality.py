"""Quality gate: precision and recall per check on the labelled set in tests/quality_cases.py,
the false-positive rate on approved copy, and the gate's latency per element (models loaded)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine
from tests.quality_cases import BAD, GOOD, INJECTED_MESSAGE
from tests.test_generation import seed_customers
from tests.test_quality import fill, without_new_words

from monogram.core.settings import Settings
from monogram.pipeline import check_text
from monogram.workspace import open_workspace


def main() -> None:
    ws = open_workspace(Settings(home=Path(tempfile.mkdtemp(prefix="monogram-bench-"))))
    seed_customers(ws)
    from monogram.cdp import unify

    another = {
        "type": "identify",
        "userId": "u9",
        "messageId": "bench-u9",
        "traits": {"first_name": "Brandi", "last_name": "Browning"},
    }
    unify.ingest_batch(ws.store, ws.config, [another], source="bench")
    without_new_words(ws)  # approved copy is people's own words (as in the tests)
    check_text(ws, "warm up", "user_id:u1", "email", "opening")  # load the models
    rows = []
    for text in GOOD:
        sentence = text if text.rstrip()[-1:] in ".!?" else text.rstrip() + "."
        rows.append(
            ("good", text, check_text(ws, fill(sentence), "user_id:u1", "email", "opening"))
        )
    for check, texts in BAD.items():
        for text in texts:
            if check == "injection":
                body = check_text(
                    ws,
                    fill(text),
                    "user_id:u1",
                    "support_reply",
                    "support_reply",
                    inputs={"message": INJECTED_MESSAGE},
                )
            else:
                element = "subject" if check == "format" else "opening"
                body = check_text(ws, fill(text), "user_id:u1", "email", element)
            rows.append((check, text, body))
    seeded = sum(map(len, BAD.values()))
    print(f"machine: {machine()}; {len(GOOD)} approved texts, {seeded} seeded failures")
    print(f"{'check':<12} {'recall':>7} {'precision':>9} {'false + on approved':>20}")
    for check in sorted(BAD):
        flagged = [
            (label, body)
            for label, _, body in rows
            if not next(c for c in body["checks"] if c["name"] == check)["passed"]
        ]
        true_pos = sum(1 for label, _ in flagged if label == check)
        false_pos = sum(1 for label, _ in flagged if label == "good")
        # Precision against approved copy: texts seeded for another check are bad copy too.
        precision = true_pos / max(1, true_pos + false_pos)
        recall = true_pos / len(BAD[check])
        print(f"{check:<12} {recall:>7.2f} {precision:>9.2f} {false_pos:>20}")
    good_failed = sum(1 for label, _, body in rows if label == "good" and not body["passed"])
    print(f"gate false-positive rate on approved copy: {good_failed}/{len(GOOD)}")
    timings = []
    for _ in range(3):
        for text in GOOD:
            started = time.perf_counter()
            check_text(ws, fill(text) + " ", "user_id:u1", "email", "opening")
            timings.append((time.perf_counter() - started) * 1000)
    gate_only = [body["seconds"] * 1000 for _, _, body in rows]
    print(
        f"gate per element: p50 {statistics.median(gate_only):.1f} ms (checks only); "
        f"with context assembly p50 {statistics.median(timings):.1f} ms"
    )


if __name__ == "__main__":
    main()
