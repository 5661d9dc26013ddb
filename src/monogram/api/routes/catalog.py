"""The product catalogue, read-only over HTTP (import it with `monogram catalog import`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import ReadKey, WorkspaceDep
from monogram.api.schemas import ok
from monogram.cdp import catalog
from monogram.cdp.catalog import Product

router = APIRouter(prefix="/v1/catalog", tags=["catalog"])


@router.get("", responses=ok(list[Product]))
async def list_products(workspace: WorkspaceDep, _key: ReadKey) -> list[dict[str, Any]]:
    def load() -> list[dict[str, Any]]:
        with workspace.store.read() as conn:
            return [p.model_dump() for p in catalog.list_products(conn)]

    return await run_in_threadpool(load)
