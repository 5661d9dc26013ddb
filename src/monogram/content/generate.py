"""Generation: render, call the model, clean up, cache; a ``Draft`` with full provenance.

One model call writes one element (small models do best with one focused request). Outputs are
cleaned (quotes, labels, extra lines removed) and checked for the basics: not empty, within the
element's limits, no template residue. An element that cannot be generated, or whose output is
not usable, gets a pre-approved variant instead, and the reason is kept. The quality gate
(later stage) adds the full checks on top of these.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from monogram.content.brand import BrandKit
from monogram.content.llm import Completion, GenerationOptions, LanguageModel
from monogram.content.placements import GeneratedElement, Placement, Strategy, Variant
from monogram.content.prompts import Prompt, build_prompt, render_locked
from monogram.content.shape import LABEL, QUOTES, placeholder, residue
from monogram.core.clock import now
from monogram.core.errors import ConfigError, ModelError
from monogram.store import Store
from monogram.store.tables import generations


@dataclass
class ElementDraft:
    name: str
    text: str
    source: str  # generated | locked | fallback
    reason: str | None = None
    variant_id: str | None = None
    candidates: list[str] = field(default_factory=list)
    candidate_reasons: list[str | None] = field(default_factory=list)  # why each was unusable
    prompt_hash: str | None = None
    template_hash: str | None = None
    fields: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False
    seed: int | None = None
    checks: dict[str, Any] | None = None  # the quality gate's decision on the text sent
    attempt: str | None = None  # the model's best text, when it fell back instead
    review: bool = False
    review_reasons: list[str] = field(default_factory=list)
    media: dict[str, Any] | None = None  # an image element: its files per size, and how made
    prompt_variant: str | None = None  # which prompt variant wrote it (None: the element's own)
    prompt_data: dict[str, Any] | None = None  # the data block the model was given


@dataclass
class Draft:
    customer: str
    profile_id: str
    placement: str
    strategy: str
    elements: dict[str, ElementDraft]
    provenance: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "customer": self.customer,
            "profile_id": self.profile_id,
            "placement": self.placement,
            "strategy": self.strategy,
            "elements": {name: asdict(e) for name, e in self.elements.items()},
            "provenance": self.provenance,
            "context": self.context,
        }


def clean_output(text: str, element: GeneratedElement) -> str:
    """Trim, drop labels ("Subject: ...") and surrounding quotes, keep one line if asked."""
    text = text.replace("\r", "").strip()
    if element.single_line:
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        text = lines[0] if lines else ""
    else:
        text = re.sub(r"\n{3,}", "\n\n", text)
    for _ in range(2):
        text = LABEL.sub("", text).strip()
        text = text.strip("*").strip()
        if len(text) >= 2 and text[0] in QUOTES and text[-1] in QUOTES:
            text = text[1:-1].strip()
    return re.sub(r"[ \t]+", " ", text)


FINAL_STOP = re.compile(r"[.!?][\"'\u201d\u2019)]*$")
SENTENCE_END = re.compile(r"(?<=[^\W\d_])[.!?][\"'\u201d\u2019)]*(?=\s|$)")


CLAUSE_END = re.compile(r"(?<=\w)(?:[,;:]|\s[-\u2013\u2014])(?=\s)|(?<=[^\W\d_])[.!?](?=\s|$)")


def fit(text: str, element: GeneratedElement, *, cut_off: bool) -> tuple[str, bool]:
    """The text cut to what can be sent within the element's limits, and whether it is
    still cut off (ends where the model was stopped mid-way).

    The model may run past ``max_chars`` or ``max_sentences``, or stop at the token budget
    mid-sentence. A text of sentences keeps its whole sentences within the limits; a one-line
    text (a subject line, a headline) keeps its leading clauses ("Alder & Ash Lite Tent, a
    favourite among campers, Calvin's pick" -> the first two) when they make up at least half
    the limit. A truncated sentence is never sent: ``unusable`` refuses what is still cut off.
    """
    limit = element.max_chars or len(text)
    ends = [m.end() for m in SENTENCE_END.finditer(text) if m.end() <= limit]
    if element.max_sentences and len(ends) > element.max_sentences:
        return text[: ends[element.max_sentences - 1]].strip(), False
    if not cut_off and len(text) <= limit:
        return text, False
    if element.single_line:
        clauses = [
            m.start() if text[m.start()] in ",;:" or text[m.start()].isspace() else m.end()
            for m in CLAUSE_END.finditer(text)
        ]
        fits = [end for end in clauses if max(12, limit // 2) <= end <= limit]
        if fits:
            return text[: fits[-1]].strip(), False
        return text, cut_off
    if not cut_off and ends and ends[-1] == len(text.rstrip()):
        return text, False
    if ends:
        return text[: ends[-1]].strip(), False
    return text, cut_off


def ends_sentence(text: str) -> bool:
    return bool(FINAL_STOP.search(text.rstrip()))


def unusable(text: str, element: GeneratedElement, *, cut_off: bool = False) -> str | None:
    """Why a cleaned output cannot be used as it is, or None."""
    if len(text) < 3:
        return "empty output"
    if cut_off and (element.single_line or not ends_sentence(text)):
        return "cut off at the token limit"
    if element.max_chars and len(text) > element.max_chars:
        return f"{len(text)} characters, over the limit of {element.max_chars}"
    if element.max_words and len(text.split()) > element.max_words:
        return f"{len(text.split())} words, over the limit of {element.max_words}"
    leftover = residue(text)
    if leftover:
        return f"template or prompt residue {leftover.group(0)!r} in the output"
    unfilled = placeholder(text)
    if unfilled:
        return f"unfilled placeholder {unfilled.group(0)!r} in the output"
    return None


# The first candidate's share of the element's temperature. A small model's most likely answer
# is its safest (closest to the worked examples); the content benchmark passed 69% of elements
# with it against 60% with every candidate at the full temperature (docs/generation.md).
FIRST_CANDIDATE = 0.3


def default_seed(*parts: str) -> int:
    """A stable seed per (customer, placement, element, strategy): reproducible, cacheable."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:4], "big") >> 1


def options_for(element: GeneratedElement, strategy: Strategy, seed: int) -> GenerationOptions:
    opts = element.options
    temperature = strategy.temperature if strategy.temperature is not None else opts.temperature
    first = opts.first_temperature
    return GenerationOptions(
        temperature=temperature,
        first_temperature=round(temperature * FIRST_CANDIDATE, 3) if first is None else first,
        max_tokens=element.max_tokens(),
        stop=tuple(element.stop()),
        seed=seed,
        n=element.candidates(),
        json_schema=opts.json_schema,
        max_sentences=element.max_sentences,
    )


def cache_key(model_id: str, prompt: Prompt, options: GenerationOptions) -> str:
    body = orjson.dumps([model_id, prompt.messages, options.as_dict()], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def cached_completions(conn: Connection, key: str) -> list[Completion] | None:
    row = conn.execute(select(generations).where(generations.c.key == key)).first()
    if row is None:
        return None
    texts = orjson.loads(row.texts)
    per = max(1, len(texts))
    return [
        Completion(t, row.prompt_tokens // per, row.completion_tokens // per, "cached")
        for t in texts
    ]


def completion_row(
    key: str,
    model_id: str,
    prompt: Prompt,
    options: GenerationOptions,
    completions: list[Completion],
) -> dict[str, Any]:
    """The generation cache's row for these completions."""
    return {
        "key": key,
        "model": model_id,
        "prompt_hash": prompt.prompt_hash,
        "options": orjson.dumps(options.as_dict()).decode(),
        "texts": orjson.dumps([c.text for c in completions]).decode(),
        "prompt_tokens": sum(c.prompt_tokens for c in completions),
        "completion_tokens": sum(c.completion_tokens for c in completions),
        "created_at": now(),
    }


def store_completions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Keep completions in the generation cache (a key stored before is left as it is)."""
    if not rows:
        return
    keys = [row["key"] for row in rows]
    stored = set(
        conn.execute(select(generations.c.key).where(generations.c.key.in_(keys))).scalars()
    )
    fresh = {row["key"]: row for row in rows if row["key"] not in stored}
    if fresh:
        conn.execute(insert(generations), list(fresh.values()))


def prompt_variant(element: GeneratedElement, strategy: Strategy) -> str | None:
    """The prompt variant a strategy writes this element with (None: the element's own)."""
    version = strategy.template_version
    return version if any(v.id == version for v in element.variants) else None


def generate_element(
    model: LanguageModel,
    store: Store,
    brand: BrandKit,
    placement: Placement,
    element: GeneratedElement,
    strategy: Strategy,
    source: dict[str, Any],
    seed: int,
    pending: list[dict[str, Any]] | None = None,
) -> ElementDraft:
    """Write one element for one customer, or fall back with the reason. New completions go
    to the generation cache now, or onto ``pending`` for the caller to store in its own
    transaction (with the message they belong to)."""
    prompt = build_prompt(brand, placement, element, strategy, source)
    options = options_for(element, strategy, seed)
    key = cache_key(model.model_id, prompt, options)
    started = time.perf_counter()
    with store.read() as conn:
        completions = cached_completions(conn, key)
    cached = completions is not None
    if completions is None:
        try:
            completions = model.complete(prompt.messages, options)
        except ModelError as exc:
            draft = fallback(element, source, f"model failed: {exc.message}")
            draft.prompt_hash, draft.template_hash, draft.fields = (
                prompt.prompt_hash,
                prompt.template_hash,
                prompt.fields,
            )
            return draft
        row = completion_row(key, model.model_id, prompt, options, completions)
        if pending is not None:
            pending.append(row)
        else:
            with store.write() as conn:
                store_completions(conn, [row])
    texts, reasons = [], []
    for completion in completions:
        stopped = completion.finish_reason == "length"
        text, cut_off = fit(clean_output(completion.text, element), element, cut_off=stopped)
        texts.append(text)
        reasons.append(unusable(text, element, cut_off=cut_off))
    chosen = next((t for t, r in zip(texts, reasons, strict=True) if r is None), None)
    base = {
        "candidates": texts,
        "candidate_reasons": reasons,
        "prompt_hash": prompt.prompt_hash,
        "template_hash": prompt.template_hash,
        "fields": prompt.fields,
        "prompt_tokens": sum(c.prompt_tokens for c in completions),
        "completion_tokens": sum(c.completion_tokens for c in completions),
        "seconds": round(time.perf_counter() - started, 4),
        "cached": cached,
        "seed": seed,
        "prompt_variant": prompt_variant(element, strategy),
        "prompt_data": prompt.data,
    }
    if chosen is None:
        draft = fallback(element, source, f"no usable candidate: {reasons[0]}")
        for name, value in base.items():
            setattr(draft, name, value)
        draft.attempt = next((t for t in texts if t), None)
        return draft
    return ElementDraft(name=element.name, text=chosen, source="generated", **base)  # type: ignore[arg-type]


def eligible_variants(element: GeneratedElement, segments: list[str]) -> list[Variant]:
    """Variants this customer may get: segment-specific ones first, then the defaults."""
    specific = [v for v in element.fallbacks if v.segments and set(v.segments) & set(segments)]
    return specific + [v for v in element.fallbacks if not v.segments]


def fallback(element: GeneratedElement, source: dict[str, Any], reason: str) -> ElementDraft:
    """The best matching approved variant: one for the customer's segments if there is one,
    else the variant whose tags best fit the customer (the default when nothing fits)."""
    segments = set(source.get("segments") or [])
    specific = [v for v in element.fallbacks if v.segments and set(v.segments) & segments]
    variant = specific[0] if specific else select_variant(element, source)[0]
    return approved(element, variant, source, reason)


def approved(
    element: GeneratedElement, variant: Variant, source: dict[str, Any], reason: str
) -> ElementDraft:
    text = render_locked(
        variant.text, source, origin=f"element {element.name}, variant {variant.id}"
    )
    return ElementDraft(
        name=element.name, text=text, source="fallback", reason=reason, variant_id=variant.id
    )


def select_variant(element: GeneratedElement, source: dict[str, Any]) -> tuple[Variant, str]:
    """The ``select`` strategy: the pre-approved variant whose tags best match this customer."""
    computed = source.get("computed") or {}
    interests = (source.get("zero_party") or {}).get("interests") or []
    signals: dict[str, float] = {}
    for rank, category in enumerate(computed.get("favorite_categories") or []):
        signals[str(category).lower()] = 3.0 - rank * 0.5
    for interest in interests if isinstance(interests, list) else []:
        signals[str(interest).lower()] = signals.get(str(interest).lower(), 0) + 2.0
    for name in [source.get("lifecycle_stage"), *(source.get("segments") or [])]:
        if name:
            signals[str(name).lower()] = signals.get(str(name).lower(), 0) + 1.5
    best: tuple[float, int, Variant] | None = None
    for order, variant in enumerate(eligible_variants(element, source.get("segments") or [])):
        score = sum(signals.get(tag.lower(), 0.0) for tag in variant.tags)
        if best is None or score > best[0]:
            best = (score, order, variant)
    if best is None:  # placements are validated to have a default fallback
        raise ConfigError(f"element {element.name!r} has no fallback variant")
    return best[2], f"chosen by strategy select (score {best[0]:.1f})"


def rule_variant(
    element: GeneratedElement, strategy: Strategy, source: dict[str, Any]
) -> tuple[Variant, str]:
    """The ``rule`` strategy: the first rule whose segment the customer is in."""
    segments = set(source.get("segments") or [])
    ids = {v.id: v for v in element.fallbacks}
    for rule in strategy.rules:
        if rule["segment"] in segments and rule["variant"] in ids:
            return ids[rule["variant"]], f"rule: segment {rule['segment']}"
    return eligible_variants(element, list(segments))[0], "rule: no segment matched, default"


def locked(name: str, template: str, source: dict[str, Any]) -> ElementDraft:
    return ElementDraft(
        name=name, text=render_locked(template, source, origin=f"element {name}"), source="locked"
    )
