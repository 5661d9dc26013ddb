"""Content quality on a fixed sample: what a model writes for every placement, what the gate
does with it and, given human labels, how much of it is worth sending.

Used by ``bench/content_quality.py`` (the published figures, on the demo data) and by
``monogram models eval`` (the same on a user's own workspace, for any model they configure).
Labels are the judge, not the gate: a text is rated 2 (send as is), 1 (send after a light
edit) or 0 (unusable) by people following ``docs/quality.md``; the gate's verdicts are then
scored against them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from monogram.cdp import context, identity
from monogram.content import generate
from monogram.content.placements import GeneratedElement, Placement, get_placement
from monogram.core.errors import NotFound, ValidationError
from monogram.pipeline import draft_for
from monogram.quality import gate
from monogram.store.tables import profiles
from monogram.workspace import Workspace

PLACEMENTS = ("email", "ad", "landing_page", "product_description", "support_reply")
# What customers write to support: one per customer in turn; {order} is their latest order's
# id and {item} its first product.
SUPPORT_MESSAGES = (
    "Hi, my order {order} has not arrived yet. Can you tell me where it is?",
    "I need to change the delivery address for order {order}, I have moved.",
    "The {item} from my last order is too small. Can I exchange it for a bigger size?",
    "Please cancel order {order}, I ordered the wrong colour.",
    "The {item} I received is broken after two days.",
    "How do I return the {item}? It is unused.",
    "I was charged twice for order {order}. Can you check?",
    "Do you have the {item} from my last order in a bigger size?",
)


@dataclass
class Output:
    """One generated element for one customer: the text the model wrote and the gate's call."""

    model: str
    customer: str
    placement: str
    element: str
    strategy: str
    text: str
    passed: bool  # the gate let it through (else the customer got approved copy)
    reason: str | None  # why it fell back
    review: bool
    seconds: float  # model and gate time for this element
    cached: bool  # the model's answer came from the generation cache (no model time)
    context: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.placement, self.element, self.customer, self.text)


def sample_customers(ws: Workspace, count: int = 40) -> list[str]:
    """A fixed sample: the first ``count`` customers (by user id) with at least one order who
    allow every purpose the placements need, so fallbacks are the model's, not consent's."""
    purposes = {get_placement(ws.placements(), name).purpose for name in _placements(ws)}
    with ws.store.read() as conn:
        ids = conn.execute(
            select(profiles.c.profile_id)
            .where(profiles.c.order_count > 0)
            .order_by(profiles.c.first_seen_at, profiles.c.profile_id)
            .limit(count * 20)
        ).scalars()
        chosen = []
        for profile_id in ids:
            if all(
                context.customer_context(conn, ws.config, ws.segments(), profile_id, p).consented
                for p in purposes
            ):
                chosen.append(_ref(conn, profile_id))
            if len(chosen) == count:
                break
    return chosen


def _ref(conn: Any, profile_id: str) -> str:
    """A stable name for the customer (their user id where they have one)."""
    keys = identity.identifiers_for(conn, profile_id)
    user = next((k for k in keys if k["type"] == "user_id"), None)
    return f"user_id:{user['value']}" if user else f"profile_id:{profile_id}"


def _placements(ws: Workspace) -> list[str]:
    return [name for name in PLACEMENTS if name in ws.placements()]


def run(
    ws: Workspace,
    customers: list[str],
    *,
    placements: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Output]:
    """Write every placement for every customer with a generative strategy (taking turns
    between a placement's generative strategies) and record each generated element."""
    names = list(placements or _placements(ws))
    specs = [get_placement(ws.placements(), name) for name in names]
    model_id = ws.model().model_id
    outputs: list[Output] = []
    total, done = len(customers) * len(specs), 0
    for index, ref in enumerate(customers):
        for spec in specs:
            generative = [s for s in spec.strategies if s.kind == "generative"]
            if generative:
                strategy = generative[index % len(generative)].name
                inputs = _inputs(ws, spec, ref, index)
                outputs += _outputs(ws, spec, ref, strategy, inputs, model_id)
            done += 1
            if progress:
                progress(done, total)
    return outputs


def _inputs(ws: Workspace, spec: Placement, ref: str, index: int) -> dict[str, Any]:
    """The inputs a placement needs, chosen the same way on every run."""
    inputs: dict[str, Any] = {}
    if "message" in spec.inputs or "product_id" in spec.inputs:
        with ws.store.read() as conn:
            built = context.customer_context(
                conn, ws.config, ws.segments(), context.resolve(conn, ref), spec.purpose
            )
        if "product_id" in spec.inputs:
            products = built.recommended_products or []
            if not products:
                raise NotFound(f"{ref} has no recommended product for {spec.name}")
            inputs["product_id"] = products[index % len(products)].id
        if "message" in spec.inputs:
            orders = built.purchases or []
            latest = orders[0] if orders else {}
            order = str(latest.get("order_id") or "my last order")
            items = latest.get("products") or [{}]
            item = str(items[0].get("name") or items[0].get("id") or "item")
            message = SUPPORT_MESSAGES[index % len(SUPPORT_MESSAGES)]
            inputs["message"] = message.format(order=order, item=item)
    return inputs


def _outputs(
    ws: Workspace,
    spec: Placement,
    ref: str,
    strategy: str,
    inputs: dict[str, Any],
    model_id: str,
) -> list[Output]:
    started = time.perf_counter()
    draft = draft_for(ws, ref, spec, strategy=strategy, inputs=inputs, record=False)
    elapsed = time.perf_counter() - started
    written = [
        draft.elements[e.name]
        for e in spec.elements
        if isinstance(e, GeneratedElement) and draft.elements[e.name].prompt_hash
    ]
    out = []
    for element in written:
        text = element.text if element.source == "generated" else element.attempt
        if not text:
            continue
        out.append(
            Output(
                model=model_id,
                customer=ref,
                placement=spec.name,
                element=element.name,
                strategy=strategy,
                text=text,
                passed=element.source == "generated",
                reason=element.reason,
                review=element.review,
                seconds=round(elapsed / max(1, len(written)), 4),
                cached=element.cached,
                context=draft.context,
                inputs=inputs,
            )
        )
    return out


def write_outputs(outputs: list[Output], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for output in outputs:
            handle.write(orjson.dumps(asdict(output)) + b"\n")


def read_outputs(path: Path) -> list[Output]:
    """Outputs kept by ``write_outputs``."""
    return [Output(**orjson.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def read_labels(path: Path) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Labels by (placement, element, customer, text): {"label": 0|1|2, "reason": ...}."""
    out = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = orjson.loads(line)
        if row.get("label") not in (0, 1, 2):
            raise ValidationError(
                f"{path}:{number}: label must be 0, 1 or 2, not {row.get('label')!r}"
            )
        out[(row["placement"], row["element"], row["customer"], row["text"])] = row
    return out


@dataclass
class Figures:
    elements: int = 0
    passed: int = 0
    seconds: float = 0.0
    timed: int = 0  # elements the model wrote now (not from the cache)
    labelled: int = 0
    usable: int = 0  # rated 1 or 2
    usable_passed: int = 0
    passed_labelled: int = 0
    passed_unusable: int = 0  # the gate let through a text rated 0
    rated_two: int = 0
    rated_two_passed: int = 0

    def add(self, output: Output, label: int | None) -> None:
        self.elements += 1
        self.passed += output.passed
        if not output.cached:
            self.seconds += output.seconds
            self.timed += 1
        if label is None:
            return
        self.labelled += 1
        self.usable += label >= 1
        self.usable_passed += label >= 1 and output.passed
        self.passed_labelled += output.passed
        self.passed_unusable += label == 0 and output.passed
        self.rated_two += label == 2
        self.rated_two_passed += label == 2 and output.passed

    def as_dict(self) -> dict[str, Any]:
        def share(part: int, whole: int) -> float | None:
            return round(part / whole, 3) if whole else None

        body: dict[str, Any] = {
            "elements": self.elements,
            "gate_passed": share(self.passed, self.elements),
            "fallback": share(self.elements - self.passed, self.elements),
            "seconds_per_element": round(self.seconds / self.timed, 3) if self.timed else None,
        }
        if self.labelled:
            body.update(
                labelled=self.labelled,
                usable=share(self.usable, self.labelled),
                usable_and_passed=share(self.usable_passed, self.labelled),
                passed_but_unusable=share(self.passed_unusable, self.passed_labelled),
                rated_two_passed=share(self.rated_two_passed, self.rated_two),
                precision=share(self.passed_labelled - self.passed_unusable, self.passed_labelled),
                recall=share(self.usable_passed, self.usable),
            )
        return body


def report(
    outputs: list[Output], labels: dict[tuple[str, str, str, str], dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Figures per placement and overall; label-based ones only where labels exist.

    precision: of the texts the gate passed, the share rated usable; recall: of the texts
    rated usable, the share the gate passed.
    """
    per: dict[str, Figures] = {}
    overall = Figures()
    for output in outputs:
        row = (labels or {}).get(output.key)
        label = int(row["label"]) if row else None
        per.setdefault(output.placement, Figures()).add(output, label)
        overall.add(output, label)
    body = {name: figures.as_dict() for name, figures in per.items()}
    body["all"] = overall.as_dict()
    return body


COLUMNS = (
    ("elements", "elements", "{}"),
    ("gate_passed", "gate passes", "{:.0%}"),
    ("fallback", "fallback", "{:.0%}"),
    ("seconds_per_element", "s/element", "{:.2f}"),
    ("labelled", "labelled", "{}"),
    ("usable", "rated >=1", "{:.0%}"),
    ("usable_and_passed", "usable+passed", "{:.0%}"),
    ("passed_but_unusable", "passed, rated 0", "{:.0%}"),
    ("rated_two_passed", "rated 2 passed", "{:.0%}"),
)


def format_report(figures: dict[str, dict[str, Any]]) -> str:
    """The report as a plain table, one row per placement and one for all."""
    header = ["placement"] + [title for _, title, _ in COLUMNS]
    rows = [header]
    for name, body in figures.items():
        cells = [name]
        for key, _, pattern in COLUMNS:
            value = body.get(key)
            cells.append("-" if value is None else pattern.format(value))
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    )


def regate(ws: Workspace, record: dict[str, Any]) -> tuple[bool, str]:
    """The gate's verdict today on a stored output (its text and the context it was written
    for): whether it would be sent, and why not. Lets the labelled set test the gate without
    running a model."""
    spec = get_placement(ws.placements(), record["placement"])
    element = next((e for e in spec.generated() if e.name == record["element"]), None)
    if element is None:
        raise NotFound(f"placement {spec.name} has no generated element {record['element']!r}")
    text, source = record["text"], record["context"]
    reason = generate.unusable(text, element)
    if reason:
        return False, reason
    with ws.store.read() as conn:
        facts = gate.load_facts(conn, source, "")
    decision = gate.evaluate(text, element, spec, ws.brand(), source, facts)
    return decision.passed, gate.summary(decision)
