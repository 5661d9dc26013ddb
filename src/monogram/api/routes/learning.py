"""The learning loop over HTTP, Personalizer-style: choose a strategy, reward the decision,
and read the strategy report."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import AdminKey, ReadKey, WorkspaceDep
from monogram.api.responses import PAGE_ANSWER
from monogram.api.routes.personalize import Who
from monogram.api.schemas import (
    DecisionAnswer,
    LearningReport,
    RequestBody,
    RewardResult,
    RewardsAnswer,
    VariantProposal,
    ok,
)
from monogram.cdp import context
from monogram.content.placements import get_placement
from monogram.core.errors import ValidationError
from monogram.core.ids import new_id
from monogram.learning import proposals
from monogram.learning import store as learning
from monogram.learning.features import customer_features
from monogram.learning.report import html_report, strategy_report

router = APIRouter(prefix="/v1", tags=["learning"])

FEATURE_NAME = r"^[a-z][a-z0-9_]{0,31}$"


class ChooseRequest(Who):
    placement: str
    strategies: list[str] | None = Field(
        default=None, description="choose among these only (default: all the placement's)"
    )
    context: dict[str, str | float] = Field(
        default_factory=dict,
        max_length=10,
        description="extra context features from the caller (device, page type); "
        "names are lower_snake_case, text values at most 64 characters",
    )


class RewardRequest(RequestBody):
    value: float = Field(ge=0, le=1, description="the reward, from 0 to 1")


class Reward(RewardRequest):
    decision_id: str = Field(min_length=1, max_length=40)


class RewardsRequest(RequestBody):
    rewards: list[Reward] = Field(min_length=1, max_length=1000)


def _checked(extra: dict[str, str | float]) -> dict[str, str | float]:
    for name, value in extra.items():
        if not re.match(FEATURE_NAME, name):
            raise ValidationError(f"context.{name}: a feature name is lower_snake_case")
        if isinstance(value, str) and len(value) > 64:
            raise ValidationError(f"context.{name}: at most 64 characters")
    return extra


@router.post("/decisions", responses=ok(DecisionAnswer))
async def choose(body: ChooseRequest, workspace: WorkspaceDep, _key: ReadKey) -> dict[str, Any]:
    """Choose a strategy for one customer: the strategy, every strategy's probability and the
    decision id to reward later."""
    extra = _checked(body.context)

    def run() -> dict[str, Any]:
        placement = get_placement(workspace.placements(), body.placement)
        if body.strategies:
            unknown = sorted(set(body.strategies) - {s.name for s in placement.strategies})
            if unknown:
                raise ValidationError(f"strategies: {unknown} are not strategies of this placement")
            kept = [s for s in placement.strategies if s.name in body.strategies]
            placement = placement.model_copy(update={"strategies": kept})
        with workspace.store.write() as conn:
            profile_id = context.resolve(conn, body.ref())
            features = customer_features(
                conn, workspace.config, workspace.segments(), placement, profile_id
            )
            decision = learning.choose(
                conn,
                workspace.config,
                placement,
                {**features, **extra},
                profile_id=profile_id,
                key=(profile_id, placement.name, new_id("choice")),
                extra={"api": True},
            )
        return {
            "decision_id": decision.decision_id,
            "strategy": decision.strategy,
            "probability": decision.probability,
            "probabilities": decision.probabilities,
            "policy": decision.policy,
            "shadow": decision.shadow,
            "features": decision.features,
        }

    return await run_in_threadpool(run)


@router.post("/decisions/{decision_id}/reward", responses=ok(RewardResult))
async def reward(
    decision_id: str, body: RewardRequest, workspace: WorkspaceDep, _key: ReadKey
) -> dict[str, Any]:
    """Reward one decision (counted once; a repeat is answered with ``counted: false``)."""

    def run() -> dict[str, Any]:
        with workspace.store.write() as conn:
            return learning.reward(
                conn, workspace.config, workspace.placements(), decision_id, body.value
            )

    return await run_in_threadpool(run)


@router.post("/decisions/rewards", responses=ok(RewardsAnswer))
async def rewards(body: RewardsRequest, workspace: WorkspaceDep, _key: ReadKey) -> dict[str, Any]:
    """Reward many decisions at once; all are checked before any is applied."""

    def run() -> dict[str, Any]:
        with workspace.store.write() as conn:
            results = learning.reward_many(
                conn,
                workspace.config,
                workspace.placements(),
                [(r.decision_id, r.value) for r in body.rewards],
            )
        return {"results": results, "counted": sum(1 for r in results if r["counted"])}

    return await run_in_threadpool(run)


@router.get("/learning/report", responses=ok(LearningReport))
async def report(
    workspace: WorkspaceDep,
    _key: ReadKey,
    placement: str | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """Reward rate per segment and strategy with 95% intervals (per ``day`` or ``week``
    with ``by``)."""

    def run() -> dict[str, Any]:
        with workspace.store.read() as conn:
            return {"strategies": strategy_report(conn, placement, by=by)}

    return await run_in_threadpool(run)


@router.get("/learning/report.html", response_class=Response, responses=PAGE_ANSWER)
async def report_page(
    workspace: WorkspaceDep,
    _key: ReadKey,
    placement: str | None = None,
    by: str = "week",
) -> HTMLResponse:
    """The same report as a page with charts (PNG inline) and tables, for people."""

    def run() -> str:
        with workspace.store.read() as conn:
            rows = strategy_report(conn, placement)
            trend = strategy_report(conn, placement, by=by)
        return html_report(rows, f"Strategies{' for ' + placement if placement else ''}", trend)

    return HTMLResponse(await run_in_threadpool(run))


class ProposalDecision(RequestBody):
    action: Literal["approve", "reject"]
    by: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=2000)


ProposalId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="a proposal's id")]


@router.get("/learning/proposals", responses=ok(list[VariantProposal]))
async def list_proposals(
    workspace: WorkspaceDep,
    _key: ReadKey,
    status: Literal["proposed", "live", "rejected"] | None = None,
) -> list[dict[str, Any]]:
    """Prompt variants proposed from winners, with their offline checks."""

    def load() -> list[dict[str, Any]]:
        with workspace.store.read() as conn:
            return proposals.listed(conn, status)

    return await run_in_threadpool(load)


@router.post("/learning/proposals/{proposal_id}", responses=ok(VariantProposal))
async def decide_proposal(
    proposal_id: ProposalId, body: ProposalDecision, workspace: WorkspaceDep, _key: AdminKey
) -> dict[str, Any]:
    """Approve (the variant goes live as a learning arm) or reject a proposed variant."""
    return await run_in_threadpool(
        proposals.decide, workspace.store, proposal_id, body.action, body.by, body.note
    )
