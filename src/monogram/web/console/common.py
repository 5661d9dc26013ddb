"""What every console page shares: templates, the signed-in session, errors as pages."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from monogram.core.errors import FieldError, MonogramError, ValidationError
from monogram.web.console.cache import Counts
from monogram.web.console.session import Session, SignInNeeded, check_csrf, current, require_change
from monogram.workspace import Workspace

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parents[1] / "templates" / "console"))
# Records shown as indented JSON: ``{{ value|pretty }}``.
TEMPLATES.env.filters["pretty"] = lambda value: orjson.dumps(
    value, option=orjson.OPT_INDENT_2, default=str
).decode()
log = logging.getLogger("monogram.console")

NAV = [
    ("overview", "/ui/", "Overview"),
    ("customers", "/ui/customers", "Customers"),
    ("identity", "/ui/identity", "Identity"),
    ("segments", "/ui/segments", "Segments"),
    ("content", "/ui/content", "Content"),
    ("reviews", "/ui/reviews", "Review queue"),
    ("campaigns", "/ui/campaigns", "Campaigns"),
    ("learning", "/ui/learning", "Learning"),
    ("keys", "/ui/keys", "Keys"),
]


def workspace_of(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


def app_held(request: Request, name: str, make: Callable[[], Any]) -> Any:
    """What the console keeps for the life of the app (per workspace, never per module),
    made on first use."""
    state = request.app.state
    if not hasattr(state, name):
        setattr(state, name, make())
    return getattr(state, name)


def counts_of(request: Request) -> Counts:
    """The app's background counts (segment sizes, coverage)."""
    counts: Counts = app_held(request, "console_counts", Counts)
    return counts


def render(
    request: Request,
    template: str,
    session: Session | None,
    *,
    status_code: int = 200,
    **values: Any,
) -> Response:
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "session": session,
            "nav": NAV,
            "notice": request.query_params.get("notice"),
            **values,
        },
        status_code=status_code,
    )


def back(path: str, notice: str) -> RedirectResponse:
    """After a change: back to a page (303, so a reload does not post again), saying what
    happened."""
    joiner = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{joiner}notice={quote(notice)}", status_code=303)


def error_page(request: Request, exc: MonogramError, session: Session | None) -> Response:
    errors: list[FieldError] = exc.errors if isinstance(exc, ValidationError) else []
    return render(
        request,
        "error.html",
        session,
        status_code=exc.status_code,
        error=exc,
        errors=errors,
    )


Handler = Callable[..., Awaitable[Response]]


def page(handler: Handler) -> Handler:
    """A console page: signed in (else to the sign-in page, then back), errors shown on the page
    with what to do, never a stack trace."""

    @functools.wraps(handler)
    async def wrapped(request: Request, *args: Any, **kwargs: Any) -> Response:
        session = None
        try:
            session = await run_in_threadpool(current, workspace_of(request), request)
            request.state.session = session
            return await handler(request, *args, **kwargs)
        except SignInNeeded as exc:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(
                f"/ui/sign-in?next={quote(target)}&notice={quote(exc.message)}", status_code=303
            )
        except MonogramError as exc:
            return error_page(request, exc, session)
        except Exception:  # a bug: logged with its trace, shown as a plain message
            log.exception("console page %s failed", request.url.path)
            failure = MonogramError("something went wrong on our side; the log has the details")
            return error_page(request, failure, session)

    return wrapped


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


async def change_form(request: Request) -> dict[str, Any]:
    """A form that changes something: admin session and a matching CSRF token required."""
    session = session_of(request)
    form = dict(await request.form())
    require_change(session)
    check_csrf(session, form)
    return form


async def blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(fn, *args, **kwargs)
