"""The web console for marketers, served by `monogram serve` under ``/ui``.

Server-rendered pages (Jinja2) with a little plain JavaScript, assets shipped in the package (it
works offline): overview, customers, identity-matching suggestions, segments, content previews,
the review queue, campaigns, learning and API keys. Sign in with an admin key (to change
things) or a read key (to look).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from monogram.web.console import identity, operations, people, shaping

STATIC = Path(__file__).parents[1] / "static"


def mount(app: FastAPI) -> None:
    router = APIRouter(prefix="/ui", include_in_schema=False)
    for module in (people, identity, shaping, operations):
        router.include_router(module.router)
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="console-static")
