"""Real-time personalization and support replies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, model_validator
from starlette.concurrency import run_in_threadpool

from monogram import realtime
from monogram.api.deps import ReadKey, WorkspaceDep
from monogram.api.schemas import PersonalizeAnswer, RequestBody, SupportAnswer, ok
from monogram.pipeline import Request, personalize

router = APIRouter(prefix="/v1", tags=["personalize"])


class Who(RequestBody):
    customer: str | None = Field(default=None, description="TYPE:VALUE, e.g. user_id:42")
    userId: str | None = None
    anonymousId: str | None = None

    @model_validator(mode="after")
    def _someone(self) -> Who:
        if not (self.customer or self.userId or self.anonymousId):
            raise ValueError("give customer (TYPE:VALUE), userId or anonymousId")
        return self

    def ref(self) -> str:
        if self.customer:
            return self.customer
        return f"user_id:{self.userId}" if self.userId else f"anonymous_id:{self.anonymousId}"


class PersonalizeRequest(Who):
    placement: str
    inputs: dict[str, Any] = Field(default_factory=dict)


class SupportRequest(Who):
    message: str = Field(min_length=1, max_length=4000)
    conversation: list[str] = Field(default_factory=list, max_length=20)


@router.post("/personalize", responses=ok(PersonalizeAnswer))
async def personalize_now(
    body: PersonalizeRequest, workspace: WorkspaceDep, _key: ReadKey
) -> dict[str, Any]:
    """Gated content within the latency budget, with the decision id to report outcomes on."""
    return await run_in_threadpool(
        realtime.serve, workspace, body.ref(), body.placement, inputs=body.inputs
    )


@router.post("/support/reply", responses=ok(SupportAnswer))
async def support_reply(
    body: SupportRequest, workspace: WorkspaceDep, _key: ReadKey
) -> dict[str, Any]:
    """A drafted reply from the conversation and the customer's history, gated, and held for
    review when the placement's risk tier says so."""
    text = "\n".join([*body.conversation[-5:], body.message])

    def draft() -> dict[str, Any]:
        request = Request(
            customer=body.ref(),
            placement="support_reply",
            inputs={"message": text},
            surface="support",
        )
        outcome = personalize(workspace, request)
        result = outcome.draft
        assert result is not None  # only a held-out request has no draft
        reply = result.elements["support_reply"]
        return {
            "message_id": result.message_id,
            "decision_id": outcome.decision_id,
            "reply": "\n\n".join(e.text for e in result.elements.values()),
            "source": reply.source,
            "reason": reply.reason,
            "review": reply.review,
            "review_reasons": reply.review_reasons,
        }

    return await run_in_threadpool(draft)
