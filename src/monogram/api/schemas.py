"""What each endpoint answers on success, for the OpenAPI schema (so generated clients and
fuzzers can trust it). Routes keep returning plain values; these models document them, with
the fields every answer carries. Answers that hold the product's own records (a profile, a
message) allow more fields than are listed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RequestBody(BaseModel):
    """A request's JSON body. No database stores a NUL character, so one anywhere in the body
    is refused here, naming where it is, before a handler passes it to a query."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        where = _nul_in(data, "")
        if where is not None:
            raise ValueError(f"{where or 'body'}: contains a NUL character")
        return data


def _nul_in(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = _nul_in(inner, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, inner in enumerate(value):
            found = _nul_in(inner, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Success(BaseModel):
    success: bool = True


class BatchAnswer(BaseModel):
    success: bool = True
    accepted: int
    duplicates: int
    rejected: list[_Open]
    rejected_count: int
    quarantine_dropped: int


class ProfileView(_Open):
    profile_id: str
    identifiers: list[_Open]
    traits: dict[str, Any]
    computed: dict[str, Any]
    lifecycle_stage: str | None = None
    segments: list[str]
    consent: dict[str, Any]
    zero_party: dict[str, Any]


class ConsentAnswer(BaseModel):
    success: bool = True
    consent: dict[str, Any] | None = None  # admin keys only


class ErasureAnswer(BaseModel):
    success: bool = True
    deleted: dict[str, int]


class ExportAnswer(_Open):
    profile: dict[str, Any]
    events: list[dict[str, Any]]


class SegmentSummary(BaseModel):
    name: str
    description: str | None = None


class SegmentMembers(BaseModel):
    segment: str
    count: int
    profile_ids: list[str]


class ReviewItem(_Open):
    review_id: int
    message_id: str
    placement: str
    element: str
    status: str
    reasons: list[Any]
    original: str | None = None
    edited: str | None = None


class MessageView(_Open):
    message_id: str
    customer: str | None = None
    profile_id: str | None = None
    placement: str
    strategy: str | None = None
    status: str
    elements: dict[str, Any]
    provenance: dict[str, Any]
    reviews: list[dict[str, Any]]


class ServedImage(BaseModel):
    size: str
    url: str


class ServedElement(BaseModel):
    text: str = Field(description="the element's text; for a creative, its alt text")
    source: str
    images: list[ServedImage] | None = Field(
        default=None, description="a creative: its signed URL per size"
    )


class PersonalizeAnswer(BaseModel):
    decision_id: str | None
    message_id: str | None
    served: str
    elements: dict[str, ServedElement]
    seconds: float


class SupportAnswer(BaseModel):
    message_id: str | None
    decision_id: str | None
    reply: str
    source: str
    reason: str | None
    review: bool
    review_reasons: list[str]


class Sentiment(BaseModel):
    score: float = Field(description="-1 (very negative) to 1 (very positive)")
    label: str = Field(description="negative, neutral or positive")


class ReplyAnswer(BaseModel):
    matched: bool = Field(
        description="false: not a usable reply to a sent message (stray, automatic or "
        "unreadable mail, or only the quoted text); nothing recorded, `reason` says why"
    )
    reason: str | None = None
    message_id: str | None = None
    decision_id: str | None = None
    kind: str | None = Field(default=None, description="email or support")
    sentiment: Sentiment | None = None
    resolved: bool | None = None
    recorded: bool = Field(
        default=False, description="false when this reply was recorded before (a retry)"
    )


class DecisionAnswer(BaseModel):
    decision_id: str
    strategy: str | None
    probability: float | None
    probabilities: dict[str, float]
    policy: str
    shadow: Any = None
    features: dict[str, Any]


class RewardResult(_Open):
    decision_id: str
    counted: bool


class RewardsAnswer(BaseModel):
    results: list[RewardResult]
    counted: int


class LearningReport(BaseModel):
    strategies: list[dict[str, Any]]


class Health(BaseModel):
    status: str


def ok(model: Any, description: str = "success") -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description}}


class MatchReport(BaseModel):
    mode: str
    model_version: int
    trained: bool
    records: int
    scored: int
    merged: int
    suggested: int
    refused: int
    conflicts: int
    known: int
    clusters: int
    largest_cluster: int
    seconds: float


class MatchSuggestion(_Open):
    id: int
    left: dict[str, Any]
    right: dict[str, Any]
    probability: float
    evidence: dict[str, Any]
    status: str
    note: str | None = None


class VariantProposal(_Open):
    id: int
    placement: str
    element: str
    variant_id: str
    instruction: str
    status: str
    check: dict[str, Any] | None = None
