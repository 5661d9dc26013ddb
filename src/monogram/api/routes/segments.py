"""Segments: definitions and members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import ReadKey, WorkspaceDep
from monogram.api.schemas import SegmentMembers, SegmentSummary, ok
from monogram.cdp import segments

router = APIRouter(prefix="/v1/segments", tags=["segments"])


@router.get("", responses=ok(list[SegmentSummary]))
async def list_segments(workspace: WorkspaceDep, _key: ReadKey) -> list[dict[str, Any]]:
    return [{"name": s.name, "description": s.description} for s in workspace.segments().values()]


@router.get("/{name}/members", responses=ok(SegmentMembers))
async def segment_members(
    name: str, workspace: WorkspaceDep, _key: ReadKey, limit: int = Query(1000, ge=1, le=100000)
) -> dict[str, Any]:
    segment = segments.get_segment(workspace.segments(), name)

    def load() -> list[str]:
        with workspace.store.read() as conn:
            return segments.members(conn, segment, workspace.config, limit=limit)

    found = await run_in_threadpool(load)
    return {"segment": name, "count": len(found), "profile_ids": found}
