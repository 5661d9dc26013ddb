"""One placement for one customer: ``personalize(ws, request) -> Outcome``.

The only code that knows the order of the stages for one customer: choose the strategy (the
decision logged with its propensity) -> read the context once -> generate -> gate or fall back
(decided in ``quality/``) -> record the message -> link it to the decision. Every surface calls
it: campaign runs, real-time ``/v1/personalize``, support replies, ``monogram generate``; so
every message the product writes can be learned from. The request and the outcome are small
pydantic values that cross a process boundary (a Ray actor, a queue).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SkipValidation
from sqlalchemy.exc import IntegrityError

from monogram.assembly import assemble, check_inputs, links
from monogram.cdp import context, privacy
from monogram.content import generate
from monogram.content.generate import Draft, ElementDraft
from monogram.content.images import ImageStore
from monogram.content.placements import (
    GeneratedElement,
    ImageElement,
    LockedElement,
    Placement,
    get_placement,
)
from monogram.content.prompts import template_hash
from monogram.core.clock import iso, now
from monogram.core.errors import FieldError, ValidationError
from monogram.learning import decisions, exemplars
from monogram.learning import store as learning
from monogram.learning.features import customer_features
from monogram.quality import gate, images, review
from monogram.quality.fallback import (
    gate_or_fallback,
    injection_fallback,
    safe_rendered,
    suspected_injection,
)
from monogram.workspace import Workspace


class Request(BaseModel):
    """What the step needs for one customer and one placement."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer: str  # TYPE:VALUE, e.g. user_id:u1, email:maya@example.com, profile_id:...
    placement: str | Placement
    inputs: dict[str, Any] = Field(default_factory=dict)
    # The caller fixes the strategy (logged without a propensity); else the policy chooses.
    strategy: str | None = None
    # The strategies the policy may choose among (a campaign's subset); all when None.
    strategies: tuple[str, ...] | None = None
    # False: a preview. No decision is logged and no message stored.
    record: bool = True
    # False: only log the decision (a campaign's dry run); nothing is written.
    write: bool = True
    campaign: str | None = None
    segment: str | None = None  # the audience, logged with the decision
    holdout: bool = False  # log a held-out decision; nothing is written
    # Idempotency: a rerun with the same key reuses the decision and the stored message.
    key: str | None = None
    trace_id: str | None = None
    surface: str = "api"  # campaign | realtime | support | cli | api: logged with the decision
    variation: int = Field(default=0, ge=0)  # another sampling of the same texts (regenerate)

    @property
    def placement_name(self) -> str:
        return self.placement if isinstance(self.placement, str) else self.placement.name


class ElementResult(BaseModel):
    name: str
    text: str
    source: str  # generated | locked | fallback | approved
    reason: str | None = None
    review: bool = False
    passed: bool | None = None  # the gate's verdict on generated text
    images: list[dict[str, Any]] | None = None  # a creative: {size, name} per size


class Outcome(BaseModel):
    """What became of one request. ``draft`` (the full record, with the context the prompts
    saw) stays in the process that wrote it; the rest is small enough to send back."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    customer: str
    placement: str
    profile_id: str | None = None
    strategy: str | None = None
    decision_id: str | None = None
    probability: float | None = None
    policy: str | None = None
    message_id: str | None = None
    held_out: bool = False
    review: bool = False  # an element waits for a person
    reused: bool = False  # the message was stored by an earlier run with the same key
    elements: dict[str, ElementResult] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    trace_id: str | None = None
    draft: Annotated[Draft | None, SkipValidation] = Field(default=None, exclude=True)

    def light(self) -> Outcome:
        """This outcome without the draft, to send across a process boundary."""
        return self.model_copy(update={"draft": None})


def idempotent_id(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


Progress = Callable[[str], None]


def personalize(ws: Workspace, request: Request, *, progress: Progress | None = None) -> Outcome:
    """Run the step for one customer (see the module docstring); ``progress(element name)``
    before each element is written, for a caller that shows it."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    given = request.placement
    spec = given if isinstance(given, Placement) else get_placement(ws.placements(), given)
    chosen_name = request.strategy
    if chosen_name is not None:
        spec.strategy(chosen_name)  # an unknown strategy is refused before anything is logged
    inputs = check_inputs(spec, request.inputs)
    message_id = idempotent_id("msg", request.key) if request.key and request.record else None
    decision = None
    with ws.store.read() as conn:
        spec = review.with_library(conn, spec)  # approved copy reviewers added to the library
        profile_id = context.resolve(conn, request.customer)
        state = context.load_state(conn, profile_id)
        if message_id is not None and review.message_exists(conn, message_id):
            return _stored(conn, request, spec, profile_id, message_id)
        if request.record:  # logged below, with the message it chose
            decision = _decide(conn, ws, spec, request, profile_id, state)
    outcome = Outcome(
        customer=request.customer,
        placement=spec.name,
        profile_id=profile_id,
        trace_id=request.trace_id,
    )
    if decision is not None:
        outcome.decision_id, outcome.policy = decision.decision_id, decision.policy
        outcome.probability = decision.probability
        timings["choose"] = time.perf_counter() - started
        outcome.held_out = decision.strategy is None
        if outcome.held_out or not request.write:
            with ws.store.write() as conn:
                learning.log_pending(conn, decision)
            outcome.strategy = decision.strategy
            outcome.timings = _rounded(timings, started)
            return outcome
        chosen_name = decision.strategy
    mark = time.perf_counter()
    pending: list[dict[str, Any]] = []  # new completions for the generation cache
    draft = _draft(
        ws,
        spec,
        request.customer,
        profile_id,
        state,
        chosen_name,
        inputs,
        timings,
        pending,
        progress,
        request.variation,
        decision.features if decision is not None else None,
    )
    timings["write"] = time.perf_counter() - mark
    mark = time.perf_counter()
    try:
        with ws.store.write() as conn:  # one transaction: cache, message, decision
            generate.store_completions(conn, pending)
            if decision is not None:
                draft.message_id = review.record_in(conn, draft, message_id)
                learning.log_pending(conn, decision, draft.message_id)
    except IntegrityError:
        if message_id is None:
            raise
        with ws.store.read() as conn:  # the same key ran at once elsewhere (a retry): theirs
            return _stored(conn, request, spec, profile_id, message_id)
    attempt = draft.provenance.get("injection")
    if attempt and draft.message_id is not None:  # on the profile's timeline, once
        privacy.record_event(
            ws.store,
            ws.config,
            f"profile_id:{profile_id}",
            "Prompt Injection Suspected",
            {**attempt, "placement": spec.name, "message_id": draft.message_id},
            source="quality-gate",
            message_id=f"injection-{draft.message_id}",
        )
    timings["record"] = time.perf_counter() - mark
    outcome.strategy = draft.strategy
    outcome.message_id = draft.message_id
    outcome.elements = {n: _result(e) for n, e in draft.elements.items()}
    outcome.review = any(e.review for e in draft.elements.values())
    outcome.draft = draft
    outcome.timings = _rounded(timings, started)
    return outcome


def draft_for(
    ws: Workspace,
    customer: str,
    placement: str | Placement,
    *,
    strategy: str | None = None,
    inputs: dict[str, Any] | None = None,
    record: bool = True,
    surface: str = "cli",
) -> Draft:
    """The step for one customer as a ``Draft`` (for callers that show the whole record: the
    demo, previews, tests). Without ``strategy`` the placement's default strategy writes it
    (logged as a fixed choice); ``personalize`` lets the policy choose."""
    if strategy is None:  # the reviewed library adds variants, never strategies
        spec = placement if isinstance(placement, Placement) else None
        strategy = (spec or get_placement(ws.placements(), str(placement))).strategy(None).name
    request = Request(
        customer=customer,
        placement=placement,
        strategy=strategy,
        inputs=inputs or {},
        record=record,
        surface=surface,
    )
    outcome = personalize(ws, request)
    if outcome.draft is None:
        raise ValidationError(f"{customer} is held out of {outcome.placement}: nothing written")
    return outcome.draft


def _decide(
    conn: Any,
    ws: Workspace,
    spec: Placement,
    request: Request,
    profile_id: str,
    state: Any,
) -> learning.Decision:
    choosing = spec
    if request.strategies:
        kept = [s for s in spec.strategies if s.name in request.strategies]
        choosing = spec.model_copy(update={"strategies": kept})
    extra: dict[str, Any] = {"surface": request.surface}
    if request.segment:
        extra["segment"] = request.segment
    if request.trace_id:
        extra["trace_id"] = request.trace_id
    key = request.key or f"{profile_id}|{spec.name}|{time.time_ns()}"
    return learning.choose(
        conn,
        ws.config,
        choosing,
        customer_features(conn, ws.config, ws.segments(), spec, profile_id, state),
        profile_id=profile_id,
        key=(key,) if request.campaign is None else (request.campaign, profile_id),
        campaign=request.campaign,
        holdout=request.holdout,
        extra=extra,
        decision_id=idempotent_id("dec", request.key) if request.key else None,
        fixed=request.strategy,
        log=False,
    )


def _draft(
    ws: Workspace,
    spec: Placement,
    customer: str,
    profile_id: str,
    state: Any,
    strategy: str | None,
    inputs: dict[str, Any],
    timings: dict[str, float],
    pending: list[dict[str, Any]],
    progress: Progress | None = None,
    variation: int = 0,
    features: dict[str, Any] | None = None,
) -> Draft:
    chosen = spec.strategy(strategy)
    started = time.perf_counter()
    with ws.store.read() as conn:
        built, source, facts = assemble(conn, ws, spec, profile_id, inputs, state)
        # Examples learned for this customer's segment come first (learning.exemplars).
        brand = exemplars.brand_for(conn, ws.brand(), spec, features)
    timings["context"] = time.perf_counter() - started
    elements: dict[str, ElementDraft] = {}
    model_id = None
    generating = gating = 0.0
    # Sampling is seeded per customer and element: the customer's own reference (user id,
    # email) where the caller gave one, so a rerun on another copy of the data (where profile
    # ids differ) writes the same texts.
    seed_key = profile_id if customer.startswith("profile_id:") else customer
    seed_key += f"#{variation}" if variation else ""
    suspect = suspected_injection(spec, source)
    for element in spec.elements:
        if progress is not None:
            progress(element.name)
        if isinstance(element, LockedElement):
            drafted = generate.locked(element.name, element.template, source)
            elements[element.name] = safe_rendered(drafted, element, spec, brand, source, facts)
            continue
        if isinstance(element, ImageElement):  # laid out from the texts written above
            mark = time.perf_counter()
            elements[element.name] = _creative(
                ws, element, spec, chosen, elements, source, facts, built.consented
            )
            timings["images"] = timings.get("images", 0.0) + time.perf_counter() - mark
            continue
        held = injection_fallback(element, source, suspect) if suspect else None
        if held is not None:  # the customer's text is not given to the model at all
            elements[element.name] = safe_rendered(held, element, spec, brand, source, facts)
            continue
        mark = time.perf_counter()
        filled = _fill(ws, brand, spec, element, chosen, source, seed_key, built, pending)
        generating += time.perf_counter() - mark
        mark = time.perf_counter()
        gated = gate_or_fallback(filled, brand, spec, element, source, facts)
        elements[element.name] = safe_rendered(gated, element, spec, brand, source, facts)
        gating += time.perf_counter() - mark
        if elements[element.name].source == "generated" or elements[element.name].prompt_hash:
            model_id = ws.model().model_id
    timings["generate"], timings["gate"] = generating, gating
    disclaimer = gate.disclaimer_check(brand, spec.channel, [e.text for e in elements.values()])
    return Draft(
        customer=customer,
        profile_id=profile_id,
        placement=spec.name,
        strategy=chosen.name,
        elements=elements,
        provenance={
            "generated_at": iso(now()),
            "strategy_kind": chosen.kind,
            "purpose": spec.purpose,
            "consented": built.consented,
            "missing_consent": built.missing_consent,
            "context_fields": sorted({f for e in elements.values() for f in e.fields}),
            "model": model_id,
            "templates": {
                e.name: template_hash(e.for_variant(chosen.template_version).instruction)
                for e in spec.elements
                if isinstance(e, GeneratedElement)
            },
            "options": {
                e.name: e.options.model_dump()
                for e in spec.elements
                if isinstance(e, GeneratedElement)
            },
            "seconds": round(time.perf_counter() - started, 4),
            "message_checks": [disclaimer.as_dict()],
            "links": links(source),
            "injection": {"field": suspect[0], **suspect[1].as_dict()} if suspect else None,
            "inputs": inputs or None,  # what the customer asked: reviewers read it
        },
        context=source,
    )


def _creative(
    ws: Workspace,
    element: ImageElement,
    spec: Placement,
    chosen: Any,
    written: dict[str, ElementDraft],
    source: dict[str, Any],
    facts: Any,
    consented: bool,
) -> ElementDraft:
    if not consented:
        why = f"no consent for {spec.purpose}"
        return images.fallback(studio(ws), element, ws.brand(), source, why)
    return images.creative(studio(ws), element, spec, ws.brand(), chosen, written, source, facts)


def studio(ws: Workspace) -> images.Studio:
    """This workspace's picture backends and creative store (made once per workspace)."""
    return ws.runtime(
        "images", lambda: images.Studio(ws.home, ws.config.images, ImageStore(ws.store))
    )


def _result(element: ElementDraft) -> ElementResult:
    passed = None if element.checks is None else bool(element.checks.get("passed"))
    return ElementResult(
        name=element.name,
        text=element.text,
        source=element.source,
        reason=element.reason,
        review=element.review,
        passed=passed,
        images=_images(element.media),
    )


def _images(media: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    if not media:
        return None
    return [{"size": i["size"], "name": i["name"]} for i in media.get("images", [])]


def _stored(
    conn: Any, request: Request, spec: Placement, profile_id: str, message_id: str
) -> Outcome:
    """The outcome of an earlier run with the same key, from the store."""
    stored = review.explain(conn, message_id)
    decision_id = idempotent_id("dec", request.key or "")
    row = decisions.find(conn, decision_id)
    return Outcome(
        customer=request.customer,
        placement=spec.name,
        profile_id=profile_id,
        strategy=stored["strategy"],
        decision_id=row.id if row is not None else None,
        probability=row.probability if row is not None else None,
        policy=row.policy if row is not None else None,
        message_id=message_id,
        review=stored["status"] == "review",
        reused=True,
        elements=_stored_elements(stored["elements"]),
        trace_id=request.trace_id,
    )


def recent(ws: Workspace, customer: str, placement: str, hours: float) -> Outcome | None:
    """A ready message for this customer and placement written in the last ``hours``."""
    since = now() - timedelta(hours=hours)
    with ws.store.read() as conn:
        profile_id = context.resolve(conn, customer)
        found = review.latest_ready(conn, profile_id, placement, since)
        if found is None:
            return None
        decision = decisions.for_message(conn, found["message_id"])
    return Outcome(
        customer=customer,
        placement=placement,
        profile_id=profile_id,
        strategy=found["strategy"],
        message_id=found["message_id"],
        decision_id=decision,
        reused=True,
        elements=_stored_elements(found["elements"]),
    )


def _stored_elements(elements: dict[str, Any]) -> dict[str, ElementResult]:
    """A stored message's elements as an outcome shows them."""
    return {
        name: ElementResult(
            name=name,
            text=e["text"],
            source=e["source"],
            reason=e.get("reason"),
            images=_images(e.get("media")),
        )
        for name, e in elements.items()
    }


def _rounded(timings: dict[str, float], started: float) -> dict[str, float]:
    return {
        **{k: round(v, 4) for k, v in timings.items()},
        "total": round(time.perf_counter() - started, 4),
    }


def _fill(
    ws: Workspace,
    brand: Any,
    spec: Placement,
    element: GeneratedElement,
    chosen: Any,
    source: dict[str, Any],
    seed_key: str,
    built: context.CustomerContext,
    pending: list[dict[str, Any]],
) -> ElementDraft:
    if not built.consented:
        missing = ", ".join(built.missing_consent)
        return generate.fallback(
            element, source, f"no consent for {spec.purpose}: missing {missing}"
        )
    if chosen.kind == "select":
        variant, reason = generate.select_variant(element, source)
        return generate.approved(element, variant, source, reason)
    if chosen.kind == "rule":
        variant, reason = generate.rule_variant(element, chosen, source)
        return generate.approved(element, variant, source, reason)
    seed = generate.default_seed(seed_key, spec.name, element.name, chosen.name)
    return generate.generate_element(
        ws.model(), ws.store, brand, spec, element, chosen, source, seed, pending
    )


def check_edit(
    ws: Workspace, review_id: int, text: str, override: str | None = None
) -> dict[str, Any]:
    """A reviewer's edit goes through the gate, for the customer it was written for, before it
    can be approved. A failed check stops it unless the reviewer says why it should go out
    anyway (``override``, recorded with the decision)."""
    with ws.store.read() as conn:
        item = review.get_review(conn, review_id)
        customer = review.customer_of(conn, item["message_id"])
    verdict = check_text(ws, text, customer, item["placement"], item["element"])
    if not verdict["passed"] and not (override or "").strip():
        failed = [
            f"{c['name']}: {c['reasons'][0]['message'] if c['reasons'] else 'failed'}"
            for c in verdict["checks"]
            if not c["passed"] and c["name"] in _blocking(ws, item["placement"])
        ]
        raise ValidationError(
            "the edited text fails the quality gate; fix it, or give an override reason to "
            "send it anyway:",
            [FieldError("text", reason) for reason in failed],
        )
    return verdict


def _blocking(ws: Workspace, placement: str) -> set[str]:
    return set(get_placement(ws.placements(), placement).gate.blocking)


def check_text(
    ws: Workspace,
    text: str,
    customer: str,
    placement: str,
    element: str | None = None,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the gate on any text as ``element`` of ``placement`` for ``customer``."""
    spec = get_placement(ws.placements(), placement)
    generated = spec.generated()
    chosen = (
        generated[0] if element is None else next((e for e in generated if e.name == element), None)
    )
    if chosen is None:
        names = ", ".join(e.name for e in generated)
        raise ValidationError(
            f"placement {placement!r} has no generated element {element!r} ({names})"
        )
    with ws.store.read() as conn:
        profile_id = context.resolve(conn, customer)
        _, source, facts = assemble(conn, ws, spec, profile_id, check_inputs(spec, inputs or {}))
    decision = gate.evaluate(text, chosen, spec, ws.brand(), source, facts)
    return {"element": chosen.name, **decision.as_dict(), "seconds": round(decision.seconds, 4)}
