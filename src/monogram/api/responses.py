"""JSON responses rendered with orjson (datetimes as ISO-8601)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import JSONResponse


class JSON(JSONResponse):
    """Rendered with orjson. A ``JSONResponse`` so the OpenAPI schema shows each answer's model
    (FastAPI documents any other response class as a string)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str, option=orjson.OPT_NON_STR_KEYS)


class FieldProblem(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    """Every error answer: what Segment-style SDKs read (``code``, ``message``) and, for bad
    input, each field with its reason."""

    success: bool = False
    code: str
    message: str
    errors: list[FieldProblem] = []


# The errors any endpoint may answer, documented on every operation of the OpenAPI schema.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "bad input: each field named with its reason"},
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    403: {"model": ErrorBody, "description": "the key lacks the scope, or no consent"},
    404: {"model": ErrorBody, "description": "no such profile, segment, review or message"},
    409: {"model": ErrorBody, "description": "already decided or in conflict"},
    429: {"model": ErrorBody, "description": "over the key's rate limit; see Retry-After"},
}

# An HTML page. Declared this way (not with response_class=HTMLResponse) so that the errors
# such a route answers stay documented as the JSON they are.
PAGE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "a page", "content": {"text/html": {"schema": {"type": "string"}}}}
}
