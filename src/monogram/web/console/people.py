"""Console pages: sign-in, the overview, customers (search, profile, unmerge) and API keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import orjson
from fastapi import APIRouter, Request
from sqlalchemy import Connection, func, select
from starlette.responses import HTMLResponse, RedirectResponse, Response

from monogram.cdp import context, segments, unify
from monogram.core.clock import now
from monogram.core.errors import AuthError, NotFound, ValidationError
from monogram.delivery import outbox as outbox_states
from monogram.keys import create_key, list_keys, revoke_key
from monogram.store.tables import events, identifiers, identity_merges, messages, outbox
from monogram.store.tables import profiles as profiles_table
from monogram.store.tables import reviews as reviews_table
from monogram.web.console.cache import Counts
from monogram.web.console.common import (
    back,
    blocking,
    change_form,
    counts_of,
    page,
    render,
    session_of,
    workspace_of,
)
from monogram.web.console.session import set_cookie, sign_in, sign_out
from monogram.workspace import Workspace

router = APIRouter()
SEARCH_TYPES = ("email", "user_id", "phone", "anonymous_id")


# -- sign in and out -----------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/ui") and "//" not in target else "/ui/"


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    target = _safe_next(request.query_params.get("next"))
    return render(request, "sign_in.html", None, next_url=target)


@router.post("/sign-in")
async def sign_in_submit(request: Request) -> Response:
    form = await request.form()
    target = _safe_next(str(form.get("next") or ""))
    try:
        token = await blocking(sign_in, workspace_of(request), str(form.get("key") or ""))
    except AuthError as exc:
        return render(
            request, "sign_in.html", None, status_code=401, failure=exc.message, next_url=target
        )
    warm(workspace_of(request), counts_of(request))
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, token)
    return response


@router.post("/sign-out")
@page
async def sign_out_submit(request: Request) -> Response:
    form = await request.form()
    from monogram.web.console.session import check_csrf

    check_csrf(session_of(request), form)
    await blocking(sign_out, workspace_of(request), request)
    response = RedirectResponse("/ui/sign-in?notice=Signed%20out", status_code=303)
    response.delete_cookie("monogram_console", path="/ui")
    return response


# -- overview ------------------------------------------------------------------------------


def events_per_day(ws: Workspace) -> list[tuple[str, int]]:
    since = now() - timedelta(days=14)
    day = func.substr(func.cast(events.c.received_at, _text()), 1, 10)
    with ws.store.read() as conn:
        rows = conn.execute(
            select(day.label("day"), func.count())
            .where(events.c.received_at >= since)
            .group_by(day)
            .order_by(day)
        ).all()
    return [(str(d), int(n)) for d, n in rows]


def consent_coverage(ws: Workspace) -> dict[str, Any]:
    with ws.store.read() as conn:
        total = conn.execute(select(func.count()).select_from(profiles_table)).scalar_one()
        granted = {
            name: conn.execute(
                select(func.count())
                .select_from(profiles_table)
                .where(profiles_table.c.consented.like(f"%|{name}|%"))
            ).scalar_one()
            for name in ws.config.consent_purposes
        }
    return {"profiles": total, "granted": granted}


def _rule_key(segment: segments.Segment) -> str:
    return orjson.dumps(segment.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS).decode()


def _size_count(ws: Workspace, segment: segments.Segment) -> tuple[str, Callable[[], int]]:
    def count() -> int:
        with ws.store.read() as conn:
            return segments.count_members(conn, segment, ws.config)

    return f"segment:{_rule_key(segment)}", count


def segment_size(
    ws: Workspace, counts: Counts, segment: segments.Segment
) -> tuple[int | None, float | None]:
    """A segment's size from the background counts (keyed by its rule: an edit recounts);
    None while it is first counted."""
    size, at = counts.peek(*_size_count(ws, segment))
    return (None if size is None else int(size)), at


def segment_sample(
    ws: Workspace, counts: Counts, segment: segments.Segment, limit: int
) -> list[str] | None:
    """The first members of a segment (by profile id), counted in the background like sizes:
    a narrow rule can make the database walk the whole base to find them."""

    def first() -> list[str]:
        with ws.store.read() as conn:
            return segments.members(conn, segment, ws.config, limit=limit)

    ids, _at = counts.peek(f"members:{limit}:{_rule_key(segment)}", first)
    return None if ids is None else list(ids)


def warm(ws: Workspace, counts: Counts) -> None:
    """Start every whole-base count in the background (after sign-in, before the first page)."""
    threading.Thread(target=_import_charts, daemon=True, name="console-warm").start()
    counts.refresh_all(
        [
            ("events_per_day", lambda: events_per_day(ws)),
            ("consent", lambda: consent_coverage(ws)),
            *(_size_count(ws, segment) for segment in ws.segments().values()),
        ]
    )


def _import_charts() -> None:
    import matplotlib.pyplot  # noqa: F401  (the learning page's chart; slow to import once)


def overview_data(ws: Workspace, counts: Counts) -> dict[str, Any]:
    per_day, counted_at = counts.peek("events_per_day", lambda: events_per_day(ws))
    coverage, _ = counts.peek("consent", lambda: consent_coverage(ws))
    sizes = {name: segment_size(ws, counts, s)[0] for name, s in ws.segments().items()}
    counting = per_day is None or coverage is None or None in sizes.values()
    with ws.store.read() as conn:
        campaigns = conn.execute(
            select(outbox.c.campaign, outbox.c.state, func.count()).group_by(
                outbox.c.campaign, outbox.c.state
            )
        ).all()
        waiting = conn.execute(
            select(func.count())
            .select_from(reviews_table)
            .where(reviews_table.c.status == "pending")
        ).scalar_one()
    by_campaign: dict[str, dict[str, int]] = {}
    for name, state, count in campaigns:
        by_campaign.setdefault(name, {})[state] = count
    running = {
        name: states
        for name, states in by_campaign.items()
        if set(states) - outbox_states.TERMINAL - {"review"}
    }
    return {
        "profiles": coverage["profiles"] if coverage else None,
        "per_day": per_day or [],
        "events_14d": sum(n for _d, n in per_day) if per_day is not None else None,
        "consent": coverage["granted"] if coverage else {},
        "sizes": sizes,
        "campaigns": by_campaign,
        "running": running,
        "waiting": waiting,
        "counted_at": datetime.fromtimestamp(counted_at, UTC) if counted_at else None,
        "counting": counting,
    }


def _text() -> Any:
    from sqlalchemy import String

    return String()


@router.get("/")
@page
async def overview(request: Request) -> Response:
    data = await blocking(overview_data, workspace_of(request), counts_of(request))
    peak = max([n for _d, n in data["per_day"]] or [1])
    return render(
        request, "overview.html", session_of(request), active="overview", peak=peak, **data
    )


# -- customers ------------------------------------------------------------------------------


def search_customers(conn: Connection, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Profiles whose email, user id, phone or anonymous id starts with ``query``, or whose
    first or last name does (case-insensitive)."""
    query = query.strip()
    if len(query) < 2:
        return []
    found: dict[str, dict[str, Any]] = {}
    for kind in SEARCH_TYPES:
        for value in (query, query.lower()):
            rows = conn.execute(
                select(identifiers.c.profile_id, identifiers.c.type, identifiers.c.value)
                .where(
                    identifiers.c.type == kind,
                    identifiers.c.value >= value,
                    identifiers.c.value < value + "\uffff",
                )
                .limit(limit)
            )
            for row in rows:
                found.setdefault(row.profile_id, {"profile_id": row.profile_id, "matches": []})
                match = f"{row.type}:{row.value}"
                if match not in found[row.profile_id]["matches"]:
                    found[row.profile_id]["matches"].append(match)
    if len(found) < limit and "@" not in query and not any(c.isdigit() for c in query):
        needle = query.lower()
        pattern = orjson.dumps(needle).decode()[1:-1]
        rows = conn.execute(
            select(profiles_table.c.profile_id, profiles_table.c.traits)
            .where(func.lower(func.cast(profiles_table.c.traits, _text())).like(f"%{pattern}%"))
            .limit(limit * 5)
        )
        for row in rows:
            traits = row.traits or {}
            names = [str(traits.get(k) or "") for k in ("first_name", "last_name", "name")]
            if any(n.lower().startswith(needle) for n in names if n):
                found.setdefault(row.profile_id, {"profile_id": row.profile_id, "matches": []})
                found[row.profile_id]["matches"].append(" ".join(n for n in names if n))
    results = list(found.values())[:limit]
    if results:
        people = conn.execute(
            select(profiles_table.c.profile_id, profiles_table.c.traits).where(
                profiles_table.c.profile_id.in_([r["profile_id"] for r in results])
            )
        )
        by_id = {row.profile_id: row.traits or {} for row in people}
        for result in results:
            traits = by_id.get(result["profile_id"], {})
            result["name"] = " ".join(
                str(traits[k]) for k in ("first_name", "last_name") if traits.get(k)
            )
            result["email"] = traits.get("email")
    return results


def _found(ws: Workspace, query: str) -> list[dict[str, Any]]:
    with ws.store.read() as conn:
        return search_customers(conn, query)


@router.get("/customers")
@page
async def customers(request: Request) -> Response:
    query = request.query_params.get("q", "")
    results = await blocking(_found, workspace_of(request), query)
    return render(
        request, "customers.html", session_of(request), active="customers", q=query, results=results
    )


@router.get("/customers/search")
@page
async def customer_search(request: Request) -> Response:
    """The results list alone, for search as you type."""
    query = request.query_params.get("q", "")
    results = await blocking(_found, workspace_of(request), query)
    return HTMLResponse(_result_items(results, query))


def _result_items(results: list[dict[str, Any]], query: str) -> str:
    if not results:
        hint = "Type at least two characters." if len(query.strip()) < 2 else "No customer matches."
        return f'<li class="muted">{escape(hint)}</li>'
    return "".join(
        f'<li><a href="/ui/customers/{escape(r["profile_id"])}">'
        f"{escape(r.get('name') or r['profile_id'])}</a> "
        f'<span class="muted small">{escape(", ".join(r["matches"][:3]))}</span></li>'
        for r in results
    )


def profile_page_data(ws: Workspace, profile_id: str, purpose: str | None) -> dict[str, Any]:
    with ws.store.read() as conn:
        exists = conn.execute(
            select(profiles_table.c.profile_id).where(profiles_table.c.profile_id == profile_id)
        ).first()
        if exists is None:
            raise NotFound(f"no customer with profile id {profile_id!r} (merged or erased?)")
        view = context.profile_view(conn, ws.config, ws.segments(), profile_id)
        merges = [
            dict(row._mapping)
            for row in conn.execute(
                select(identity_merges)
                .where(identity_merges.c.profile_id == profile_id)
                .order_by(identity_merges.c.id.desc())
            )
        ]
        timeline = [
            {
                "at": row.ts,
                "kind": "event",
                "what": f"{row.type} {row.name or ''}".strip(),
                "detail": _brief(row.payload),
            }
            for row in conn.execute(
                select(events.c.ts, events.c.type, events.c.name, events.c.payload)
                .where(events.c.profile_id == profile_id)
                .order_by(events.c.ts.desc())
                .limit(50)
            )
        ]
        timeline += [
            {
                "at": row.created_at,
                "kind": "message",
                "what": f"{row.placement} ({row.strategy}, {row.status})",
                "detail": row.id,
            }
            for row in conn.execute(
                select(messages.c.id, messages.c.created_at, messages.c.placement)
                .add_columns(messages.c.strategy, messages.c.status)
                .where(messages.c.profile_id == profile_id)
                .order_by(messages.c.created_at.desc())
                .limit(20)
            )
        ]
        chosen = None
        if purpose:
            if purpose not in ws.config.purposes:
                known = ", ".join(ws.config.purposes)
                raise ValidationError(f"unknown purpose {purpose!r} (known: {known})")
            chosen = context.customer_context(
                conn, ws.config, ws.segments(), profile_id, purpose
            ).model_dump(exclude_none=True)
    timeline.sort(key=lambda item: str(item["at"]), reverse=True)
    return {"view": view, "merges": merges, "timeline": timeline, "context": chosen}


def _brief(payload: str) -> str:
    body = orjson.loads(payload)
    props = body.get("properties") or body.get("traits") or {}
    return ", ".join(f"{k}={v}" for k, v in list(props.items())[:4])[:160]


@router.get("/customers/{profile_id}")
@page
async def profile_page(request: Request, profile_id: str) -> Response:
    ws = workspace_of(request)
    purpose = request.query_params.get("purpose") or None
    data = await blocking(profile_page_data, ws, profile_id, purpose)
    return render(
        request,
        "profile.html",
        session_of(request),
        active="customers",
        profile_id=profile_id,
        purposes=list(ws.config.purposes),
        purpose=purpose,
        **data,
    )


@router.post("/customers/{profile_id}/unmerge")
@page
async def unmerge(request: Request, profile_id: str) -> Response:
    form = await change_form(request)
    ws = workspace_of(request)
    try:
        merge_id = int(str(form.get("merge_id")))
    except ValueError as exc:
        raise ValidationError("merge_id: a merge number from this page") from exc
    reason = str(form.get("reason") or "").strip() or "unmerged in the console"
    holders = await blocking(unify.unmerge, ws.store, ws.config, merge_id, reason[:500])
    target = holders[0] if holders else profile_id
    return back(f"/ui/customers/{target}", f"Merge {merge_id} undone: the two sides stay apart")


# -- keys -------------------------------------------------------------------------------------


@router.get("/keys")
@page
async def keys_page(request: Request) -> Response:
    session = session_of(request)
    found = await blocking(list_keys, workspace_of(request).store)
    return render(
        request,
        "keys.html",
        session,
        active="keys",
        keys=found,
        created=None,
    )


@router.post("/keys")
@page
async def keys_create(request: Request) -> Response:
    form = await change_form(request)
    scope = str(form.get("scope") or "")
    if scope not in ("admin", "read", "write"):
        raise ValidationError("scope: one of admin, read, write")
    name = str(form.get("name") or "").strip()[:200]
    ws = workspace_of(request)
    key, secret = await blocking(create_key, ws.store, scope, name)
    found = await blocking(list_keys, ws.store)
    # The secret is shown once, on this answer only (never in a URL or a redirect).
    return render(
        request,
        "keys.html",
        session_of(request),
        active="keys",
        keys=found,
        created={"key": key, "secret": secret},
    )


@router.post("/keys/{key_id}/revoke")
@page
async def keys_revoke(request: Request, key_id: str) -> Response:
    await change_form(request)
    await blocking(revoke_key, workspace_of(request).store, key_id)
    return back("/ui/keys", f"Key {key_id} revoked: it stops working at once")
