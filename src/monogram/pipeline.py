"""One placement for one customer: ``personalize``.

The only module besides ``campaigns/`` that knows the order of the stages: assemble the
consent-scoped context, fill each element (locked template, generated text, or a pre-approved
variant chosen by the strategy), and return a ``Draft`` with its provenance. The quality gate
and strategy choice by the learning loop slot in here in later stages.
"""

from __future__ import annotations

import time
from typing import Any

from monogram.cdp import catalog, context
from monogram.content import generate
from monogram.content.generate import Draft, ElementDraft
from monogram.content.placements import GeneratedElement, LockedElement, Placement, get_placement
from monogram.content.prompts import clean_text, render_locked, template_hash
from monogram.core.clock import iso, now
from monogram.core.errors import FieldError, ValidationError
from monogram.quality import gate, review
from monogram.workspace import Workspace


def personalize(
    ws: Workspace,
    customer: str,
    placement: str | Placement,
    *,
    strategy: str | None = None,
    inputs: dict[str, Any] | None = None,
    record: bool = True,
) -> Draft:
    """Content for ``customer`` (``TYPE:VALUE``) on ``placement``, with provenance.

    With ``record`` (the default) the draft is stored as a message (see ``explain``) and the
    elements the gate flagged open review items.
    """
    spec = (
        placement if isinstance(placement, Placement) else get_placement(ws.placements(), placement)
    )
    with ws.store.read() as conn:
        spec = review.with_library(conn, spec)
    chosen = spec.strategy(strategy)
    inputs = _check_inputs(spec, inputs or {})
    started = time.perf_counter()
    with ws.store.read() as conn:
        profile_id, built, source, facts = _assemble(conn, ws, spec, customer, inputs)
    brand = ws.brand()
    elements: dict[str, ElementDraft] = {}
    model_id = None
    for element in spec.elements:
        if isinstance(element, LockedElement):
            drafted = generate.locked(element.name, element.template, source)
            elements[element.name] = _safe_rendered(drafted, element, spec, brand, source, facts)
            continue
        filled = _fill(ws, brand, spec, element, chosen, source, profile_id, built)
        gated = _gate(filled, brand, spec, element, source, facts)
        elements[element.name] = _safe_rendered(gated, element, spec, brand, source, facts)
        if elements[element.name].source == "generated" or elements[element.name].prompt_hash:
            model_id = ws.model().model_id
    disclaimer = gate.disclaimer_check(brand, spec.channel, [e.text for e in elements.values()])
    draft = Draft(
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
                e.name: template_hash(e.instruction)
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
            "links": _links(source),
        },
        context=source,
    )
    if record:
        draft.message_id = review.record(ws.store, draft)
    return draft


def _fill(
    ws: Workspace,
    brand: Any,
    spec: Placement,
    element: GeneratedElement,
    chosen: Any,
    source: dict[str, Any],
    profile_id: str,
    built: context.CustomerContext,
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
    seed = generate.default_seed(profile_id, spec.name, element.name, chosen.name)
    return generate.generate_element(
        ws.model(), ws.store, brand, spec, element, chosen, source, seed
    )


def _safe_rendered(
    draft: ElementDraft,
    element: Any,
    spec: Placement,
    brand: Any,
    source: dict[str, Any],
    facts: Any,
) -> ElementDraft:
    """A locked element or approved variant rendered with customer values goes through the
    checks those values can break; if it fails, it is rendered again without them."""
    if draft.source == "generated":
        return draft
    decision = gate.check_rendered(draft.text, draft.name, spec, brand, source, facts)
    if decision.passed:
        return draft
    template: str | None
    if isinstance(element, LockedElement):
        template = element.template
    else:
        template = next((v.text for v in element.fallbacks if v.id == draft.variant_id), None)
    if template is None:  # a reviewed library variant: rendered as stored, nothing to leave out
        return draft
    why = f"customer values left out: {gate.summary(decision)}"
    safe = {**source, "profile": {}}
    draft.text = render_locked(template, safe, origin=f"element {draft.name}")
    draft.reason = f"{draft.reason}; {why}" if draft.reason else why
    draft.checks = decision.as_dict()
    return draft


def _gate(
    draft: ElementDraft,
    brand: Any,
    spec: Placement,
    element: GeneratedElement,
    source: dict[str, Any],
    facts: Any,
) -> ElementDraft:
    """Only generated text is gated; approved variants were checked by people."""
    if draft.source != "generated":
        return draft
    candidates = [
        text
        for text, reason in zip(draft.candidates, draft.candidate_reasons, strict=True)
        if reason is None
    ] or [draft.text]
    best, decisions = gate.choose(candidates, element, spec, brand, source, facts)
    if best is None:
        closest = max(decisions, key=lambda d: d.score)
        fallen = generate.fallback(element, source, f"quality gate: {gate.summary(closest)}")
        for name in (
            "candidates",
            "candidate_reasons",
            "prompt_hash",
            "template_hash",
            "fields",
            "prompt_tokens",
            "completion_tokens",
            "seconds",
            "cached",
            "seed",
        ):
            setattr(fallen, name, getattr(draft, name))
        fallen.checks = closest.as_dict()
        fallen.attempt = closest.text
        return fallen
    draft.text = best.text
    draft.checks = best.as_dict()
    draft.review, draft.review_reasons = best.review, best.review_reasons
    return draft


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
        _, _, source, facts = _assemble(conn, ws, spec, customer, _check_inputs(spec, inputs or {}))
    decision = gate.evaluate(text, chosen, spec, ws.brand(), source, facts)
    return {"element": chosen.name, **decision.as_dict(), "seconds": round(decision.seconds, 4)}


# Inputs every placement takes: the offer this message may mention (the facts grounding
# checks discounts, codes and dates against) and the customer's jurisdiction.
COMMON_INPUTS = ("offer", "jurisdiction")
OFFER_KEYS = {"code", "discount_percent", "free_shipping", "ends", "description"}


def _assemble(
    conn: Any, ws: Workspace, spec: Placement, customer: str, inputs: dict[str, Any]
) -> tuple[str, context.CustomerContext, dict[str, Any], Any]:
    """The customer's context for the placement's purpose, as the prompts and checks see it
    (with the inputs, the product and the order it is about), and the facts to check against."""
    profile_id = context.resolve(conn, customer)
    built = context.customer_context(conn, ws.config, ws.segments(), profile_id, spec.purpose)
    source = built.model_dump(mode="json", exclude_none=True)
    source["input"] = inputs
    source["brand"] = ws.brand().name
    source["product"] = _product(conn, inputs, built)
    source["order"] = order_asked_about(source.get("purchases"), inputs.get("message"))
    return profile_id, built, source, gate.load_facts(conn, source, profile_id)


def _check_inputs(spec: Placement, inputs: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(inputs) - set(spec.inputs) - set(COMMON_INPUTS))
    if unknown:
        allowed = ", ".join([*spec.inputs, *COMMON_INPUTS])
        raise ValidationError(
            f"placement {spec.name!r} takes inputs {allowed}; unknown: {', '.join(unknown)}"
        )
    offer = inputs.get("offer")
    if offer is not None and (not isinstance(offer, dict) or set(offer) - OFFER_KEYS):
        raise ValidationError(f"input offer must be a mapping with keys from {sorted(OFFER_KEYS)}")
    return {k: clean_text(str(v), 2000) if isinstance(v, str) else v for k, v in inputs.items()}


def order_asked_about(
    purchases: list[dict[str, Any]] | None, message: Any
) -> dict[str, Any] | None:
    """The one order a support message is about: the one whose id it names, else the latest.
    A reply sees this order, not the customer's whole history."""
    if not purchases:
        return None
    text = str(message or "").lower()
    named = [p for p in purchases if p.get("order_id") and str(p["order_id"]).lower() in text]
    return (named or purchases)[0]


def _links(source: dict[str, Any]) -> list[str]:
    """The product pages a message may link to (the first recommendation, the product)."""
    found = [p.get("url") for p in (source.get("recommended_products") or [])[:1]]
    found.append((source.get("product") or {}).get("url"))
    return [u for u in dict.fromkeys(found) if u]


def _product(
    conn: Any, inputs: dict[str, Any], built: context.CustomerContext
) -> dict[str, Any] | None:
    """The product a placement is about: the ``product_id`` input, else the top recommendation."""
    product_id = inputs.get("product_id") or (
        built.recommended_products[0].id if built.recommended_products else None
    )
    if not product_id:
        return None
    product = catalog.get_product(conn, str(product_id))
    return {
        "id": product.id,
        "name": product.name,
        "category": product.category,
        "brand": product.brand,
        "price": product.price,
        "currency": product.currency,
        "attributes": product.attributes,
        "description": product.description,
        "url": product.url,
    }
