"""The review queue over HTTP, and message explanations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import AdminKey, ReadKey, WorkspaceDep
from monogram.api.schemas import MessageView, RequestBody, ReviewItem, ok
from monogram.quality import review
from monogram.reviewing import decide_review

router = APIRouter(tags=["reviews"])


class Decision(RequestBody):
    action: Literal["approve", "edit", "reject"]
    reviewer: str = Field(min_length=1, max_length=200)
    text: str | None = Field(default=None, description="the corrected text, for edit")
    note: str | None = None
    override: str | None = Field(
        default=None,
        max_length=500,
        description="for edit: why a text the quality gate fails should go out anyway",
    )
    add_to_library: bool = False


# Review ids are 64-bit database keys: a larger number is a 400, not a database error.
ReviewId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a review item's id")]


@router.get("/v1/reviews", responses=ok(list[ReviewItem]))
async def list_reviews(
    workspace: WorkspaceDep,
    _key: ReadKey,
    status: str = Query("pending"),
    limit: int = Query(50, ge=1, le=1000),
) -> list[dict[str, Any]]:
    def load() -> list[dict[str, Any]]:
        with workspace.store.read() as conn:
            return review.list_reviews(conn, status, limit)

    return await run_in_threadpool(load)


@router.get("/v1/reviews/{review_id}", responses=ok(ReviewItem))
async def get_review(review_id: ReviewId, workspace: WorkspaceDep, _key: ReadKey) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        with workspace.store.read() as conn:
            return review.get_review(conn, review_id)

    return await run_in_threadpool(load)


@router.post("/v1/reviews/{review_id}", responses=ok(ReviewItem))
async def decide(
    review_id: ReviewId, decision: Decision, workspace: WorkspaceDep, _key: AdminKey
) -> dict[str, Any]:
    """Approve, edit or reject one review item (admin scope)."""

    def apply() -> dict[str, Any]:
        return decide_review(
            workspace,
            review_id,
            decision.action,
            decision.reviewer,
            text=decision.text,
            note=decision.note,
            override=decision.override,
            add_to_library=decision.add_to_library,
        )

    return await run_in_threadpool(apply)


@router.get("/v1/messages/{message_id}", responses=ok(MessageView))
async def explain(message_id: str, workspace: WorkspaceDep, _key: ReadKey) -> dict[str, Any]:
    """Everything recorded about one message."""

    def load() -> dict[str, Any]:
        with workspace.store.read() as conn:
            return review.explain(conn, message_id)

    return await run_in_threadpool(load)
