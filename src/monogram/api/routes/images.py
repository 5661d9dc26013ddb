"""Creatives, served at stable signed URLs (``/i/<sha256>.<ext>?s=<signature>``).

No API key: the signature is the credential (mail clients and ad platforms fetch these), and a
name without its signature is a 404 like a name that does not exist, so nobody learns which
files are there. A file never changes under its name, so answers are cacheable for a year.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import WorkspaceDep
from monogram.core.errors import NotFound
from monogram.delivery import tracking

router = APIRouter(prefix="/i", tags=["creatives"])
MEDIA = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
IMAGE_ANSWER: dict[int | str, dict[str, object]] = {
    200: {
        "description": "the creative",
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}} for kind in MEDIA.values()
        },
    }
}


@router.get("/{name}", response_class=Response, responses=IMAGE_ANSWER)
async def creative(
    name: str,
    workspace: WorkspaceDep,
    s: str = Query(default="", max_length=64, description="the URL's signature"),
) -> Response:
    from monogram.content.images import ImageStore

    if not tracking.image_allowed(workspace.secret(), name, s):
        raise NotFound("no such image")
    try:
        data = await run_in_threadpool(ImageStore(workspace.store).read, name)
    except ValueError:
        raise NotFound("no such image") from None
    return Response(
        data,
        media_type=MEDIA[name.rsplit(".", 1)[1]],
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "ETag": f'"{name.split(".")[0]}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
