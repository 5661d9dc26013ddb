"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import WorkspaceDep
from monogram.api.schemas import Health, ok

router = APIRouter(tags=["health"])


@router.get("/health", responses=ok(Health))
async def health(workspace: WorkspaceDep) -> dict[str, Any]:
    """200 once the store answers; used by `monogram serve` users and load balancers."""

    def ping() -> None:
        with workspace.store.read() as conn:
            conn.execute(text("SELECT 1"))

    await run_in_threadpool(ping)
    return {"status": "ok"}
