"""Gate or fall back: what goes out for one element.

Generated text goes through the gate: the best candidate that passes is kept, else the
element's pre-approved fallback goes out with the reason (and the model's closest attempt kept
for the record). Locked elements and approved variants rendered with customer values go through
the checks those values can break; if one fails, the element is rendered again without them.
"""

from __future__ import annotations

from typing import Any

from monogram.content import generate, injection
from monogram.content.brand import BrandKit
from monogram.content.generate import ElementDraft
from monogram.content.placements import GeneratedElement, LockedElement, Placement
from monogram.content.prompts import render_locked
from monogram.quality import gate
from monogram.quality.checks import Facts

# What the model's attempt keeps when the element falls back: the record of what was tried.
KEPT_ON_FALLBACK = (
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
    "prompt_variant",
    "prompt_data",
)


def gate_or_fallback(
    draft: ElementDraft,
    brand: BrandKit,
    spec: Placement,
    element: GeneratedElement,
    source: dict[str, Any],
    facts: Facts,
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
        for name in KEPT_ON_FALLBACK:
            setattr(fallen, name, getattr(draft, name))
        fallen.checks = closest.as_dict()
        fallen.attempt = closest.text
        return fallen
    draft.text = best.text
    draft.checks = best.as_dict()
    draft.review, draft.review_reasons = best.review, best.review_reasons
    return draft


def safe_rendered(
    draft: ElementDraft,
    element: LockedElement | GeneratedElement,
    spec: Placement,
    brand: BrandKit,
    source: dict[str, Any],
    facts: Facts,
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


def suspected_injection(
    spec: Placement, source: dict[str, Any]
) -> tuple[str, injection.Detection] | None:
    """The customer free text in this context most likely to be an injection attempt, if it
    reaches the placement's threshold (``gate.thresholds.injection``, default 0.5)."""
    found = injection.scan(injection.free_texts(source))
    threshold = spec.gate.thresholds.get("injection", injection.DEFAULT_THRESHOLD)
    if found is None or not found[1].suspicious(threshold):
        return None
    return found


def injection_fallback(
    element: GeneratedElement, source: dict[str, Any], suspect: tuple[str, injection.Detection]
) -> ElementDraft | None:
    """For an element whose prompt would hold the suspicious text: its approved copy instead of
    a generation, held for a person with the span that gave the attempt away. None when the
    element does not read that text (it is generated as usual)."""
    name, found = suspect
    if not injection.reads(element.fields, name):
        return None
    why = f"possible prompt injection in the customer's {name}: {found.describe()}"
    drafted = generate.fallback(element, source, why)
    drafted.review, drafted.review_reasons = True, [why]
    return drafted
