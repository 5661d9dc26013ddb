"""What the step gives the prompts and the checks for one customer and one placement: the
consent-scoped context with the call's inputs, the product and the order it is about, and the
facts to check against; and the inputs a placement accepts."""

from __future__ import annotations

from typing import Any

from monogram.cdp import catalog, context
from monogram.content.placements import Placement
from monogram.content.prompts import clean_text
from monogram.core.errors import ValidationError
from monogram.quality import gate
from monogram.workspace import Workspace

# Inputs every placement takes: the offer this message may mention (the facts grounding
# checks discounts, codes and dates against) and the customer's jurisdiction.
COMMON_INPUTS = ("offer", "jurisdiction")
OFFER_KEYS = {"code", "discount_percent", "free_shipping", "ends", "description"}


def assemble(
    conn: Any,
    ws: Workspace,
    spec: Placement,
    profile_id: str,
    inputs: dict[str, Any],
    state: Any = None,
) -> tuple[context.CustomerContext, dict[str, Any], Any]:
    """The customer's context for the placement's purpose, as the prompts and checks see it
    (with the inputs, the product and the order it is about), and the facts to check against."""
    built = context.customer_context(
        conn, ws.config, ws.segments(), profile_id, spec.purpose, state=state
    )
    source = built.model_dump(mode="json", exclude_none=True)
    source["input"] = inputs
    source["brand"] = ws.brand().name
    source["product"] = product_of(conn, inputs, built)
    source["order"] = order_asked_about(source.get("purchases"), inputs.get("message"))
    return built, source, gate.load_facts(conn, source, profile_id)


def check_inputs(spec: Placement, inputs: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(inputs) - set(spec.inputs) - set(COMMON_INPUTS))
    if unknown:
        allowed = ", ".join([*spec.inputs, *COMMON_INPUTS])
        raise ValidationError(
            f"placement {spec.name!r} takes inputs {allowed}; unknown: {', '.join(unknown)}"
        )
    offer = inputs.get("offer")
    if offer is not None and (not isinstance(offer, dict) or set(offer) - OFFER_KEYS):
        raise ValidationError(f"input offer must be a mapping with keys from {sorted(OFFER_KEYS)}")
    return {k: clean_text(str(v), 2000) if isinstance(v, str) else v for k, v in inputs.items()}


def order_asked_about(
    purchases: list[dict[str, Any]] | None, message: Any
) -> dict[str, Any] | None:
    """The one order a support message is about: the one whose id it names, else the latest.
    A reply sees this order, not the customer's whole history."""
    if not purchases:
        return None
    text = str(message or "").lower()
    named = [p for p in purchases if p.get("order_id") and str(p["order_id"]).lower() in text]
    return (named or purchases)[0]


def links(source: dict[str, Any]) -> list[str]:
    """The product pages a message may link to (the first recommendation, the product)."""
    found = [p.get("url") for p in (source.get("recommended_products") or [])[:1]]
    found.append((source.get("product") or {}).get("url"))
    return [u for u in dict.fromkeys(found) if u]


def product_of(
    conn: Any, inputs: dict[str, Any], built: context.CustomerContext
) -> dict[str, Any] | None:
    """The product a placement is about: the ``product_id`` input, else the top recommendation."""
    product_id = inputs.get("product_id") or (
        built.recommended_products[0].id if built.recommended_products else None
    )
    if not product_id:
        return None
    product = catalog.get_product(conn, str(product_id))
    return {
        "id": product.id,
        "name": product.name,
        "category": product.category,
        "brand": product.brand,
        "price": product.price,
        "currency": product.currency,
        "attributes": product.attributes,
        "description": product.description,
        "url": product.url,
        "image": product.image,
    }
