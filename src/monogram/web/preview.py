"""`monogram preview`: customers' contexts and contents side by side, as one HTML page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from jinja2 import Environment, select_autoescape
from sqlalchemy import select

from monogram.cdp import identity
from monogram.content.generate import Draft
from monogram.content.placements import Placement
from monogram.core.errors import NotFound
from monogram.store.tables import profiles as profiles_table
from monogram.workspace import Workspace

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Preview: {{ placement }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2330; }
h1 { font-size: 1.4rem; }
.row { display: grid; grid-template-columns: 1fr 1.4fr; gap: 1.5rem;
  border-top: 1px solid #d7dbe3; padding: 1.2rem 0; }
pre { background: #f4f6f9; padding: .8rem; overflow: auto; font-size: 12px; max-height: 28rem; }
.el { margin: .5rem 0 .9rem; } .name { font-weight: 600; }
.src { font-size: 11px; padding: 1px 6px; border-radius: 8px; margin-left: .4rem; }
.generated, .composed { background: #dff5e3; } .locked { background: #e7ebf5; }
.fallback { background: #fde9d7; }
.reason { color: #8a5a00; font-size: 12px; } .text { white-space: pre-wrap; }
.creative { max-width: 100%; height: auto; border: 1px solid #d7dbe3; }
</style></head><body>
<h1>Placement <code>{{ placement }}</code>: {{ drafts|length }} customers</h1>
<p>Strategy {{ strategy }}; model {{ model or "none (no generated element)" }}.
Generated {{ counts.generated }}, fallback {{ counts.fallback }}, locked {{ counts.locked }}.</p>
{% for d in drafts %}
<section class="row">
  <div><h2>{{ d.customer }}</h2><pre>{{ d.context_json }}</pre></div>
  <div>
  {% for e in d.elements %}
    <div class="el"><span class="name">{{ e.name }}</span>
      <span class="src {{ e.source }}">{{ e.source }}</span>
      {% if e.media %}{% for image in e.media.images %}
        <figure><img src="{{ images[image.name] }}" alt="{{ e.text }}" class="creative">
        <figcaption class="reason">{{ image.size }}, {{ (image.bytes / 1024)|round|int }} KB,
        layout {{ image.layout }}</figcaption></figure>
      {% endfor %}<div class="reason">alt text: {{ e.text }}</div>
      {% else %}<div class="text">{{ e.text }}</div>{% endif %}
      {% if e.reason %}<div class="reason">{{ e.reason }}</div>{% endif %}
    </div>
  {% endfor %}
  {% if d.rendered %}
    <p class="name">As it will arrive</p>
    <iframe sandbox title="{{ d.customer }}" srcdoc="{{ d.rendered }}"
      style="width:100%;height:34rem;border:1px solid #d7dbe3;border-radius:4px"></iframe>
  {% endif %}
  </div>
</section>
{% endfor %}
</body></html>
"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def render_preview(
    placement: str,
    strategy: str,
    drafts: list[Draft],
    rendered: dict[str, str] | None = None,
    image_src: Callable[[str], str] | None = None,
) -> str:
    """One page; every value is HTML-escaped (customer data and model output are untrusted).
    ``rendered``: each customer's message as it will arrive (email HTML), shown sandboxed;
    ``image_src``: where the page finds a creative by its file name (e.g. a data: URL)."""
    images: dict[str, str] = {}
    counts = {"generated": 0, "fallback": 0, "locked": 0}
    rows: list[dict[str, Any]] = []
    model = None
    for draft in drafts:
        model = model or draft.provenance.get("model")
        for element in draft.elements.values():
            counts[element.source] = counts.get(element.source, 0) + 1
            for image in (element.media or {}).get("images", []) if image_src else []:
                images[image["name"]] = image_src(image["name"])  # type: ignore[misc]
        rows.append(
            {
                "customer": draft.customer,
                "context_json": orjson.dumps(draft.context, option=orjson.OPT_INDENT_2).decode(),
                "elements": list(draft.elements.values()),
                "rendered": (rendered or {}).get(draft.customer),
            }
        )
    return _env.from_string(PAGE).render(
        placement=placement,
        strategy=strategy,
        drafts=rows,
        counts=counts,
        model=model,
        images=images,
    )


def preview_customers(ws: Workspace, spec: Placement, sample: int) -> list[str]:
    """Up to ``sample`` customers (``TYPE:VALUE``) with orders whose consent lets this placement
    write for them: a preview of fallback copy for customers who never allowed personal
    content shows nothing."""
    needs = ws.config.purposes[spec.purpose].consent
    with ws.store.read() as conn:
        query = select(profiles_table.c.profile_id).where(profiles_table.c.order_count > 0)
        for name in needs:
            query = query.where(profiles_table.c.consented.contains(f"|{name}|", autoescape=True))
        ids = list(
            conn.execute(query.order_by(profiles_table.c.profile_id).limit(sample)).scalars()
        )
        if not ids:
            raise NotFound(
                f"no customer with orders has given {', '.join(needs)} consent, which "
                f"{spec.name!r} ({spec.purpose}) needs: nothing personal to preview"
            )
        refs = []
        for pid in ids:
            keys = identity.identifiers_for(conn, pid)
            user = next((k for k in keys if k["type"] == "user_id"), keys[0])
            refs.append(f"{user['type']}:{user['value']}")
    return refs
