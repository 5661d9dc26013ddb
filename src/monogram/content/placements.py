"""Placements: the surfaces that get content, their elements and the strategies to fill them.

A placement (``placements/NAME.yaml``) has a channel, the context purpose it may use, a risk
tier and elements. Each element is either

* ``generated``: a prompt template, length limits, the context fields it may see, generation
  options, and a library of pre-approved fallback variants (optionally for some segments only);
* ``locked``: a human-approved Jinja template filled with profile values, never written by a
  model (greeting, legal footer, unsubscribe line).

Strategies are the arms the learning loop chooses among: ``generative`` variants (tone,
emphasis, length, template version, model options), ``select`` (the best pre-approved variant
for this customer) and ``rule`` (a segment-to-variant mapping).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from monogram.core.errors import ConfigError, NotFound
from monogram.core.settings import OUTCOMES, load_yaml_model

NAME = r"^[a-z][a-z0-9_]{0,63}$"
# Best-of-N defaults: short elements are cheap to write several times, and the gate picks.
# Up to 60 characters: three candidates; up to 140: two; longer elements: one, stopped at its
# sentence limit (a long candidate costs as much as several short ones).
CANDIDATES_BY_LENGTH = ((60, 3), (140, 2))
LONG_CANDIDATES = 1
CHARS_PER_TOKEN = 3.5


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Variant(_Strict):
    """A pre-approved text: a fallback, or what ``select`` and ``rule`` strategies pick from."""

    id: str = Field(pattern=NAME)
    text: str = Field(min_length=1)
    segments: list[str] = Field(default_factory=list, description="only for these segments")
    tags: list[str] = Field(default_factory=list, description="what it is about, for select")


class Options(_Strict):
    temperature: float = Field(default=0.7, ge=0, le=2)
    first_temperature: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="the first candidate's temperature (default: 0.3 x temperature): the "
        "model's most likely answer first, then varied ones at temperature for the gate to "
        "choose from",
    )
    max_tokens: int | None = Field(
        default=None, ge=1, le=1024, description="default: a budget that fits max_chars"
    )
    stop: list[str] | None = Field(
        default=None, description='default: ["\\n"] for one-line elements, else ["\\n\\n"]'
    )
    candidates: int | None = Field(
        default=None,
        ge=1,
        le=8,
        description="best-of-N: how many candidates the gate chooses from (default: 3 for "
        "elements up to 60 characters, 2 up to 140, else 1)",
    )
    json_schema: dict[str, Any] | None = None


class PromptVariant(_Strict):
    """Another way to ask for the same element: its own instruction and/or worked examples.
    Each generative strategy x variant is an arm the learning loop chooses among."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")
    instruction: str | None = Field(
        default=None, description="sandboxed Jinja; default: the element's"
    )
    exemplars: str | None = Field(
        default=None, description="brand exemplar key; default: the element's"
    )
    note: str = ""


class GeneratedElement(_Strict):
    kind: Literal["generated"] = "generated"
    name: str = Field(pattern=NAME)
    instruction: str = Field(min_length=1, description="sandboxed Jinja: what to write")
    exemplars: str | None = Field(default=None, description="brand exemplar key (default: name)")
    fields: list[str] = Field(default_factory=list, description="context fields it may see")
    max_chars: int | None = Field(default=None, ge=1)
    max_words: int | None = Field(default=None, ge=1)
    single_line: bool = True
    max_sentences: int | None = Field(
        default=None, ge=1, le=20, description="whole sentences at most (the rest is cut)"
    )
    options: Options = Field(default_factory=Options)
    fallbacks: list[Variant] = Field(min_length=1)
    variants: list[PromptVariant] = Field(
        default_factory=list,
        description="prompt variants; each generative strategy x variant is a learning arm",
    )

    def for_variant(self, variant: str | None) -> GeneratedElement:
        """This element as prompt variant ``variant`` asks for it (itself when it has none)."""
        chosen = next((v for v in self.variants if v.id == variant), None)
        if chosen is None:
            return self
        return self.model_copy(
            update={
                "instruction": chosen.instruction or self.instruction,
                "exemplars": chosen.exemplars or self.exemplars or self.name,
            }
        )

    def candidates(self) -> int:
        if self.options.candidates is not None:
            return self.options.candidates
        for chars, count in CANDIDATES_BY_LENGTH:
            if self.max_chars is not None and self.max_chars <= chars:
                return count
        return LONG_CANDIDATES

    def max_tokens(self) -> int:
        """The token budget: what the options say, else enough for ``max_chars`` and a little
        more, so a text that runs long can be cut at a sentence end rather than mid-word."""
        if self.options.max_tokens is not None:
            return self.options.max_tokens
        if self.max_chars is None:
            return 160
        return int(self.max_chars / CHARS_PER_TOKEN * 1.25) + 6

    def stop(self) -> list[str]:
        if self.options.stop is not None:
            return self.options.stop
        # A model that runs on into the next turn writes a data block: stop there.
        return ["\n", "<<<"] if self.single_line else ["\n\n", "<<<"]

    @model_validator(mode="after")
    def _has_default_fallback(self) -> GeneratedElement:
        if not any(not v.segments for v in self.fallbacks):
            raise ValueError(
                f"element {self.name!r} needs a fallback without segments (the default)"
            )
        ids = [v.id for v in self.fallbacks]
        if len(ids) != len(set(ids)):
            raise ValueError(f"element {self.name!r} has two fallbacks with one id")
        variant_ids = [v.id for v in self.variants]
        if len(variant_ids) != len(set(variant_ids)):
            raise ValueError(f"element {self.name!r} has two prompt variants with one id")
        return self


class LockedElement(_Strict):
    kind: Literal["locked"]
    name: str = Field(pattern=NAME)
    template: str = Field(min_length=1, description="approved Jinja, filled with profile values")


SIZE = r"^[1-9][0-9]{1,3}x[1-9][0-9]{1,3}$"


class ImageFallback(_Strict):
    """The approved creative used when a rendered one fails its checks: an image file in the
    workspace, or a creative composed from approved text only (no customer data)."""

    id: str = Field(pattern=NAME)
    headline: str | None = Field(default=None, description="approved Jinja text, e.g. {{ brand }}")
    path: str | None = Field(default=None, description="an approved image file (workspace path)")
    alt: str = Field(min_length=1, max_length=300, description="its alt text")

    @model_validator(mode="after")
    def _one_source(self) -> ImageFallback:
        if (self.headline is None) == (self.path is None):
            raise ValueError("a fallback image has a headline (composed) or a path, not both")
        return self


class ImageElement(_Strict):
    """A creative: gated text laid out over a picture in the brand's colours, at each size.

    The picture comes from the image backend: ``compose`` uses the product's catalogue image,
    ``openai-images`` (or a plug-in's backend) generates one from ``prompt``. Text is never
    drawn by an image model: only the texts of earlier elements, after the quality gate."""

    kind: Literal["image"]
    name: str = Field(pattern=NAME)
    sizes: list[str] = Field(
        default_factory=lambda: ["1200x628"], min_length=1, description="WIDTHxHEIGHT each"
    )
    backend: str | None = Field(
        default=None, description="compose, openai-images or a plug-in's; default: images.backend"
    )
    headline: str | None = Field(default=None, description="the element whose text leads")
    body: str | None = Field(default=None, description="an element whose text goes beneath")
    cta: str | None = Field(default="Shop now", max_length=40, description="approved button text")
    price: bool = Field(default=True, description="show the product's catalogue price")
    prompt: str | None = Field(
        default=None, description="sandboxed Jinja for generated pictures (openai-images)"
    )
    fields: list[str] = Field(default_factory=list, description="context fields the prompt sees")
    review: bool | None = Field(
        default=None, description="hold for review; default: generated pictures yes, else no"
    )
    format: Literal["auto", "png", "webp", "jpeg"] = Field(
        default="auto", description="auto: PNG for text on colour, JPEG over a photograph"
    )
    max_kb: int | None = Field(
        default=None, ge=1, description="largest file allowed; default: images.max_kb by channel"
    )
    fallback: ImageFallback

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, sizes: list[str]) -> list[str]:
        for size in sizes:
            if not re.match(SIZE, size):
                raise ValueError(f"size {size!r} is not WIDTHxHEIGHT, e.g. 1200x628")
            width, height = (int(n) for n in size.split("x"))
            if not (64 <= width <= 4096 and 64 <= height <= 4096):
                raise ValueError(f"size {size!r}: each side from 64 to 4096 pixels")
        if len(set(sizes)) != len(sizes):
            raise ValueError("a size is listed twice")
        return sizes

    def dimensions(self) -> list[tuple[int, int]]:
        return [(int(w), int(h)) for w, h in (size.split("x") for size in self.sizes)]


Element = Annotated[
    Annotated[GeneratedElement, Tag("generated")]
    | Annotated[LockedElement, Tag("locked")]
    | Annotated[ImageElement, Tag("image")],
    Discriminator(lambda v: v.get("kind", "generated") if isinstance(v, dict) else v.kind),
]


class Strategy(_Strict):
    name: str = Field(pattern=NAME)
    kind: Literal["generative", "select", "rule"] = "generative"
    description: str = ""
    # generative
    tone: str | None = None
    emphasis: str | None = None
    length: Literal["short", "medium", "long"] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    template_version: str | None = None
    # images: the layout (split: picture beside or above the text; full: picture behind it;
    # text: no picture) and the brand kit's colourway
    layout: Literal["split", "full", "text"] | None = None
    colourway: str | None = None
    # rule: segment -> variant id (per element), first match wins; else the default fallback
    rules: list[dict[str, str]] = Field(default_factory=list)


CHECK_NAMES = (
    "format",
    "task",
    "pii",
    "compliance",
    "brand_voice",
    "grounding",
    "toxicity",
    "injection",
    "relevance",
)


class GateConfig(_Strict):
    """How the quality gate treats this placement's outputs."""

    blocking: list[str] = Field(
        default_factory=lambda: [c for c in CHECK_NAMES if c != "relevance"],
        description="checks that must pass; the others only score",
    )
    checks: list[str] = Field(
        default_factory=list,
        description="extra checks that plug-ins register (entry-point group monogram.checks), "
        "run on every generated output; name one in blocking to make it block",
    )
    review_band: float = Field(
        default=0.05, ge=0, le=0.5, description="scores this close to a threshold go to review"
    )
    review_sample: float = Field(
        default=0.0, ge=0, le=1, description="share of passing outputs sampled for QA review"
    )
    allow_sensitive: list[Literal["health", "finances", "age", "identity", "religion"]] = Field(
        default_factory=list
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="per-check thresholds: toxicity (similarity to insults, default 0.86), "
        "profanity (model probability, 0.6), relevance (similarity, 0.80), voice (similarity "
        "to the brand's exemplars below which an output goes to review, 0.75), new_words (at "
        "most this many words nothing the model was given contains; off by default)",
    )

    @model_validator(mode="after")
    def _known_checks(self) -> GateConfig:
        unknown = sorted(set(self.blocking) - set(CHECK_NAMES) - set(self.checks))
        if unknown:
            known = ", ".join([*CHECK_NAMES, *self.checks])
            raise ValueError(
                f"unknown checks {unknown}; known: {known} (a plug-in's check is listed in "
                "gate.checks first)"
            )
        return self


LEARNING_FEATURES = {
    "lifecycle_stage": "the customer's lifecycle stage",
    "segment": "the first of `learning.segments` the customer belongs to (else `other`)",
    "channel": "the placement's channel",
    "preferred_channel": "the channel the customer engages with most",
    "top_category": "the customer's favourite category",
    "rfm": "the RFM label (champion, loyal, ...)",
    "order_count": "number of orders (numeric, log-scaled)",
    "lifetime_value": "lifetime value (numeric, log-scaled)",
    "days_since_last_order": "days since the last order (numeric, log-scaled)",
    "email_click_rate": "email click rate (numeric)",
}


class PlacementLearning(_Strict):
    """How the learning loop treats this placement: what counts as a reward, for how long
    outcomes are counted, and which context features a policy learns per."""

    rewards: dict[str, float] | None = Field(
        default=None, description="reward per outcome; default: learning.rewards (monogram.yaml)"
    )
    window_hours: float | None = Field(
        default=None, ge=0, description="default: learning.window_hours (monogram.yaml)"
    )
    features: list[str] = Field(default_factory=lambda: ["lifecycle_stage"])
    segments: list[str] = Field(
        default_factory=list, description="for the `segment` feature, in order of priority"
    )
    baseline: str | None = Field(
        default=None,
        description="the strategy served in apprentice mode (learning.policy: baseline); "
        "default: the first rule strategy, else the first strategy",
    )

    @model_validator(mode="after")
    def _known(self) -> PlacementLearning:
        unknown = sorted(set(self.rewards or {}) - set(OUTCOMES))
        if unknown:
            raise ValueError(f"rewards: unknown outcomes {unknown}; known: {', '.join(OUTCOMES)}")
        unknown = sorted(set(self.features) - set(LEARNING_FEATURES))
        if unknown:
            raise ValueError(f"features: unknown {unknown}; known: {', '.join(LEARNING_FEATURES)}")
        if "segment" in self.features and not self.segments:
            raise ValueError("features: `segment` needs `segments`, the segment names to use")
        return self


class Placement(_Strict):
    name: str = Field(pattern=NAME)
    description: str = ""
    channel: Literal["email", "web", "ad", "support", "product_page", "sms", "push"]
    purpose: str = Field(description="the context purpose (monogram.yaml) it may use")
    risk_tier: Literal["low", "medium", "high"] = "low"
    inputs: list[str] = Field(default_factory=list, description="per-call inputs, e.g. product_id")
    elements: list[Element] = Field(min_length=1)
    strategies: list[Strategy] = Field(min_length=1)
    gate: GateConfig = Field(default_factory=GateConfig)
    learning: PlacementLearning = Field(default_factory=PlacementLearning)

    @model_validator(mode="after")
    def _variant_arms(self) -> Placement:
        """Each generative strategy x prompt variant becomes a strategy (``bold__v2``) with
        that ``template_version``: the learning loop chooses among them like any strategy."""
        variants = list(dict.fromkeys(v.id for e in self.generated() for v in e.variants))
        known = {s.name for s in self.strategies}
        arms = []
        for strategy in self.strategies:
            if strategy.kind != "generative" or strategy.template_version is not None:
                continue
            for variant in variants:
                name = f"{strategy.name}__{variant}"
                if name in known:
                    continue
                described = strategy.description or strategy.name
                arms.append(
                    strategy.model_copy(
                        update={
                            "name": name,
                            "template_version": variant,
                            "description": f"{described}, prompt variant {variant}",
                        }
                    )
                )
        if arms:
            self.strategies.extend(arms)
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Placement:
        names = [e.name for e in self.elements]
        if len(names) != len(set(names)):
            raise ValueError("two elements share a name")
        strategies = [s.name for s in self.strategies]
        if len(strategies) != len(set(strategies)):
            raise ValueError("two strategies share a name")
        baseline = self.learning.baseline
        if baseline is not None and baseline not in strategies:
            raise ValueError(f"learning.baseline: no strategy {baseline!r}")
        self._images_read_earlier_texts()
        variant_ids = {v.id for e in self.generated() for v in e.fallbacks}
        for strategy in self.strategies:
            for rule in strategy.rules:
                if set(rule) != {"segment", "variant"}:
                    raise ValueError(
                        f"strategy {strategy.name!r}: a rule is {{segment: S, variant: ID}}"
                    )
                if rule["variant"] not in variant_ids:
                    raise ValueError(
                        f"strategy {strategy.name!r}: no variant {rule['variant']!r} "
                        f"among the elements' fallbacks"
                    )
        return self

    def _images_read_earlier_texts(self) -> None:
        written: list[str] = []
        for element in self.elements:
            if isinstance(element, ImageElement):
                for slot in ("headline", "body"):
                    source = getattr(element, slot)
                    if source is not None and source not in written:
                        raise ValueError(
                            f"element {element.name!r}: {slot} {source!r} is not a text element "
                            f"before it (known: {', '.join(written) or 'none'})"
                        )
                if element.backend not in (None, "compose") and not element.prompt:
                    raise ValueError(
                        f"element {element.name!r}: backend {element.backend!r} needs a prompt"
                    )
            else:
                written.append(element.name)

    def images(self) -> list[ImageElement]:
        return [e for e in self.elements if isinstance(e, ImageElement)]

    def baseline(self) -> str:
        """The strategy apprentice mode serves."""
        if self.learning.baseline:
            return self.learning.baseline
        rules = [s.name for s in self.strategies if s.kind == "rule"]
        return rules[0] if rules else self.strategies[0].name

    def generated(self) -> list[GeneratedElement]:
        return [e for e in self.elements if isinstance(e, GeneratedElement)]

    def strategy(self, name: str | None) -> Strategy:
        if name is None:
            return self.strategies[0]
        for strategy in self.strategies:
            if strategy.name == name:
                return strategy
        known = ", ".join(s.name for s in self.strategies)
        raise NotFound(f"placement {self.name!r} has no strategy {name!r} (known: {known})")


def load_placements(folder: Path, problems: list[str] | None = None) -> dict[str, Placement]:
    """Every placement in ``folder/*.yaml``, by name; ConfigError names file, key and reason.
    With ``problems``, a file that does not load is named there and skipped."""
    found: dict[str, Placement] = {}
    if not folder.exists():
        return found
    for path in sorted(folder.glob("*.yaml")):
        try:
            placement = load_yaml_model(path, Placement)
            if placement.name in found:
                raise ConfigError(f"{path}: placement {placement.name!r} is defined twice")
        except ConfigError as exc:
            if problems is None:
                raise
            problems.append(exc.message)
            continue
        found[placement.name] = placement
    return found


def get_placement(placements: dict[str, Placement], name: str) -> Placement:
    try:
        return placements[name]
    except KeyError:
        known = ", ".join(sorted(placements)) or "none defined"
        raise NotFound(f"no placement named {name!r} (known: {known})") from None
