"""Probabilistic identity matching over HTTP: run a match, list suggestions, decide them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import AdminKey, ReadKey, WorkspaceDep
from monogram.api.schemas import MatchReport, MatchSuggestion, RequestBody, ok
from monogram.cdp import resolve

router = APIRouter(prefix="/v1/identity", tags=["identity"])
PairId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a scored pair's id")]


class MatchRequest(RequestBody):
    full: bool = Field(default=False, description="score every profile, not only changed ones")
    retrain: bool = Field(default=False, description="estimate the model again first")
    dry_run: bool = Field(default=False, description="score and count; change nothing")


class PairDecision(RequestBody):
    action: Literal["accept", "reject"]
    by: str = Field(min_length=1, max_length=200, description="who decides")
    note: str = Field(default="", max_length=2000)


@router.post("/match", responses=ok(MatchReport))
async def match(body: MatchRequest, workspace: WorkspaceDep, _key: AdminKey) -> dict[str, Any]:
    """Match the profiles (training a model the first time): merges the likely pairs and
    suggests the doubtful ones. Runs to the end before it answers (minutes at a million)."""

    def run() -> dict[str, Any]:
        report = resolve.run(
            workspace.store,
            workspace.config,
            retrain=body.retrain,
            incremental=not body.full,
            dry_run=body.dry_run,
        )
        return report.as_dict()

    return await run_in_threadpool(run)


@router.get("/suggestions", responses=ok(list[MatchSuggestion]))
async def suggestions(
    workspace: WorkspaceDep,
    _key: ReadKey,
    status: Literal["suggested", "merged", "rejected", "refused", "conflict"] = Query("suggested"),
    limit: int = Query(50, ge=1, le=1000),
) -> list[dict[str, Any]]:
    def load() -> list[dict[str, Any]]:
        with workspace.store.read() as conn:
            return resolve.suggestions(conn, status, limit)

    return await run_in_threadpool(load)


@router.post("/suggestions/{pair_id}", responses=ok(MatchSuggestion))
async def decide(
    pair_id: PairId, body: PairDecision, workspace: WorkspaceDep, _key: AdminKey
) -> dict[str, Any]:
    """Accept (merge, reversible with unmerge) or reject (never suggested again)."""
    return await run_in_threadpool(
        resolve.decide, workspace.store, workspace.config, pair_id, body.action, body.by, body.note
    )
