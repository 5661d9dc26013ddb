"""The gate: run the checks on every candidate, keep the best that passes every blocking
check, or fall back to approved content; decide what goes to human review. Reasons are kept."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select

from monogram.cdp.catalog import cached_catalog, derived
from monogram.content.brand import BrandKit
from monogram.content.placements import GeneratedElement, Placement
from monogram.core.plugins import Registry
from monogram.quality import embed
from monogram.quality.checks import CheckInput, CheckResult, Facts, Reason, kinds, toxicity
from monogram.quality.checks.brand_voice import BrandVoiceCheck
from monogram.quality.checks.compliance import ComplianceCheck
from monogram.quality.checks.format import FormatCheck
from monogram.quality.checks.grounding import GroundingCheck
from monogram.quality.checks.injection import InjectionCheck
from monogram.quality.checks.pii import PIICheck
from monogram.quality.checks.relevance import THRESHOLD as RELEVANCE_THRESHOLD
from monogram.quality.checks.relevance import RelevanceCheck
from monogram.quality.checks.task import TaskCheck
from monogram.quality.checks.toxicity import ToxicityCheck
from monogram.store.tables import profiles

CHECKS = {
    check.name: check
    for check in (
        FormatCheck(),
        TaskCheck(),
        PIICheck(),
        ComplianceCheck(),
        BrandVoiceCheck(),
        GroundingCheck(),
        ToxicityCheck(),
        InjectionCheck(),
        RelevanceCheck(),
    )
}
# Checks that plug-ins add (entry-point group ``monogram.checks``): a class whose instances are
# called with a ``CheckInput`` and return a ``CheckResult`` (see ``checks.Check``). A placement
# runs the ones its ``gate.checks`` names.
PLUGIN_CHECKS = Registry("monogram.checks", "quality check", {})
# Surnames and first names that are also common words: never flagged as another customer's name.
COMMON_WORDS = set(
    [
        "the",
        "and",
        "for",
        "you",
        "your",
        "our",
        "with",
        "this",
        "that",
        "new",
        "from",
        "have",
        "more",
        "all",
        "get",
        "one",
        "out",
        "just",
        "best",
        "will",
        "can",
        "may",
        "june",
        "april",
        "august",
        "grant",
        "hope",
        "joy",
        "faith",
        "rose",
        "lily",
        "mark",
        "bill",
        "pat",
        "sage",
        "summer",
        "autumn",
        "winter",
        "spring",
        "dawn",
        "river",
        "forest",
        "stone",
        "brook",
        "wood",
        "hunter",
        "chase",
        "page",
        "ray",
        "art",
        "rich",
        "young",
        "king",
        "love",
        "gay",
        "white",
        "black",
        "brown",
        "green",
        "gray",
        "grey",
        "long",
        "short",
        "bell",
        "hill",
        "lake",
    ]
)


@dataclass
class Decision:
    text: str
    passed: bool
    checks: list[CheckResult]
    review: bool = False
    review_reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks) / max(1, len(self.checks))

    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "score": round(self.score, 4),
            "review": self.review,
            "review_reasons": self.review_reasons,
            "checks": [c.as_dict() for c in self.checks],
        }


def warm_up() -> None:
    """Load what the checks load on first use (the embedder and its prototypes, the profanity
    model, the dictionaries), so a worker's first customer does not pay for it."""
    from monogram.quality.checks import grounding

    toxicity.prime(["A warm welcome."])
    embed.prime(["A warm welcome."])
    toxicity.toxicity_prototypes()
    grounding.english("welcome")


def evaluate(
    text: str,
    element: GeneratedElement,
    placement: Placement,
    brand: BrandKit,
    context: dict[str, Any],
    facts: Facts,
) -> Decision:
    """Run every check on one text; passed = every blocking check passed."""
    started = time.perf_counter()
    item = CheckInput(text, element, placement, brand, context, facts)
    results = [check(item) for check in CHECKS.values()]
    results += [PLUGIN_CHECKS.get(name)()(item) for name in placement.gate.checks]
    blocking = set(placement.gate.blocking)
    passed = all(r.passed for r in results if r.name in blocking)
    decision = Decision(text, passed, results, seconds=time.perf_counter() - started)
    if passed:
        _review(decision, placement)
    return decision


def _review(decision: Decision, placement: Placement) -> None:
    gate = placement.gate
    if placement.risk_tier == "high":
        decision.review_reasons.append("high-risk placement: a person approves before sending")
    relevance = next((c for c in decision.checks if c.name == "relevance"), None)
    if (
        relevance
        and relevance.score < 1.0
        and abs(relevance.score - RELEVANCE_THRESHOLD) <= gate.review_band
    ):
        decision.review_reasons.append(f"relevance {relevance.score:.2f} is near the threshold")
    voice = next((c for c in decision.checks if c.name == "brand_voice"), None)
    if voice and voice.score < gate.thresholds.get("voice", 0.75):
        decision.review_reasons.append(
            f"reads unlike the brand's approved copy ({voice.score:.2f})"
        )
    if gate.review_sample > 0:
        roll = int(hashlib.sha256(decision.text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if roll < gate.review_sample:
            decision.review_reasons.append("sampled for QA review")
    decision.review = bool(decision.review_reasons)


def choose(
    candidates: list[str],
    element: GeneratedElement,
    placement: Placement,
    brand: BrandKit,
    context: dict[str, Any],
    facts: Facts,
) -> tuple[Decision | None, list[Decision]]:
    """The best candidate that passes, by mean score (None if none passes), and all decisions."""
    unique = list(dict.fromkeys(candidates))
    toxicity.prime(unique)  # one batched call to the profanity model for all candidates
    embed.prime([*unique, *(toxicity.masked(t) for t in unique)])  # and one to the embedder
    decisions = [evaluate(t, element, placement, brand, context, facts) for t in unique]
    passing = [d for d in decisions if d.passed]
    best = max(passing, key=lambda d: d.score) if passing else None
    return best, decisions


# Approved copy was checked by people; what a customer typed into it was not.
APPROVED_CHECKS = ("injection", "pii", "compliance")


def check_rendered(
    text: str,
    name: str,
    placement: Placement,
    brand: BrandKit,
    context: dict[str, Any],
    facts: Facts,
) -> Decision:
    """The blocking checks that customer-supplied values can break, on a rendered locked
    element or approved variant (the customer's own first name is allowed there)."""
    element = GeneratedElement.model_validate(
        {
            "name": name,
            "instruction": "approved copy",
            "fields": ["profile.first_name"],
            "single_line": False,
            "fallbacks": [{"id": "approved", "text": text or "-"}],
        }
    )
    item = CheckInput(text, element, placement, brand, context, facts)
    results = [CHECKS[name](item) for name in APPROVED_CHECKS]
    return Decision(text, all(r.passed for r in results), results)


def disclaimer_check(brand: BrandKit, channel: str, texts: list[str]) -> CheckResult:
    """The channel's required disclaimer must appear somewhere in the whole message."""
    required = brand.disclaimers.get(channel)
    if not required:
        return CheckResult("disclaimer", True, 1.0)
    normalised = " ".join(required.lower().split())
    if any(normalised in " ".join(t.lower().split()) for t in texts):
        return CheckResult("disclaimer", True, 1.0)
    reason = Reason(f"the {channel} disclaimer is missing", required[:60])
    return CheckResult("disclaimer", False, 0.0, [reason])


def summary(decision: Decision) -> str:
    parts = []
    for check in decision.failures():
        first = check.reasons[0] if check.reasons else None
        parts.append(f"{check.name}: {first}" if first else check.name)
    return "; ".join(parts)


_names: dict[str, Any] = {}


def load_facts(conn: Connection, context: dict[str, Any], profile_id: str) -> Facts:
    """Catalogue facts, this customer's offer, and other customers' names (cached 5 min)."""
    catalog, _ = cached_catalog(conn)
    base = derived(conn, "gate.facts", _catalogue_facts)
    facts = replace(base, prices=set(base.prices), memo={})  # the rest is shared, read only
    for item in [*(context.get("recommended_products") or []), context.get("product") or {}]:
        if isinstance(item.get("price"), int | float):
            facts.prices.add(round(float(item["price"]), 2))
    for order in context.get("purchases") or []:
        if isinstance(order.get("revenue"), int | float):
            facts.prices.add(round(float(order["revenue"]), 2))
    offer = (context.get("input") or {}).get("offer")
    facts.offer = offer if isinstance(offer, dict) else {}
    # Shared, not copied per customer; the PII check tells the customer's own name apart.
    facts.other_names = _other_names(conn, catalog)
    return facts


def _catalogue_facts(catalog: dict[str, Any]) -> Facts:
    """What the whole catalogue makes true: built once per catalogue version."""
    facts = Facts()
    facts.names = kinds.build_index({p.name: p.category for p in catalog.values()})
    for product in catalog.values():
        facts.prices.add(round(product.price, 2))
        facts.product_names.add(product.name)
        facts.vocabulary |= _catalogue_words(product)
        facts.categories.add(product.category.lower())
        for key, value in (product.attributes or {}).items():
            if key in DESCRIPTIVE:
                values = value if isinstance(value, list) else [value]
                facts.attribute_values.setdefault(key, set()).update(
                    str(v).lower() for v in values if isinstance(v, str) and len(v) <= 40
                )
        if product.brand:
            facts.brands.add(product.brand)
        if product.url:
            parts = urlsplit(product.url)
            facts.url_prefixes.add(f"{parts.scheme}://{parts.netloc}")
    return facts


# Attributes whose values a text can get wrong by naming another product's (materials, colours).
DESCRIPTIVE = (
    "material",
    "materials",
    "colour",
    "colours",
    "colourways",
    "color",
    "colors",
    "style",
)


def _catalogue_words(product: Any) -> set[str]:
    texts = [product.name, product.category, product.brand or ""]
    for value in (product.attributes or {}).values():
        texts += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return {w.lower() for t in texts for w in re.findall(r"[\w'&-]+", t)}


def _other_names(conn: Connection, catalog: dict[str, Any]) -> frozenset[str]:
    key = str(conn.engine.url)
    cached = _names.get(key)
    if cached and cached[0] > time.monotonic():
        found: frozenset[str] = cached[1]
        return found
    words = {
        w.lower()
        for p in catalog.values()
        for w in f"{p.name} {p.category} {p.brand or ''}".split()
    }
    names: set[str] = set()
    for (traits,) in conn.execute(select(profiles.c.traits)):
        for field_name in ("first_name", "last_name", "firstName", "lastName"):
            value = (traits or {}).get(field_name)
            if isinstance(value, str) and len(value) >= 3:
                names.add(value.strip().lower())
    names -= COMMON_WORDS | words
    frozen = frozenset(names)
    _names[key] = (time.monotonic() + 300, frozen)
    return frozen
