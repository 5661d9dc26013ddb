"""Creatives, checked or replaced: what goes out for one image element.

The creative is laid out from the message's final texts (generated text only after it passed
the gate, else the approved fallback), the catalogue's price and the approved button; it is
rendered at every size and checked (``checks/image.py``). A failed check, or a backend that
gives no picture when the creative needs one, means the element's approved fallback creative
goes out, with the reason. Its alt text is made from the same gated texts and checked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monogram.content import images
from monogram.content.brand import BrandKit, Colourway
from monogram.content.generate import ElementDraft
from monogram.content.images import Job, Picture, PictureBackend, Rendition
from monogram.content.placements import ImageElement, Placement, Strategy
from monogram.content.prompts import render, render_locked, select_fields
from monogram.core.errors import ConfigError
from monogram.quality import gate
from monogram.quality.checks import Facts
from monogram.quality.checks.image import check_creative

MAX_ALT = 250


@dataclass
class Studio:
    """What a workspace renders creatives with: its picture backends and its image store."""

    home: Path
    config: Any  # ImagesConfig
    store: images.ImageStore

    def backend(self, name: str | None) -> PictureBackend:
        chosen = name or self.config.backend
        found = self._backends.get(chosen)
        if found is None:
            found = images.picture_backend(chosen, self.config, self.home)
            self._backends[chosen] = found
        return found

    def __post_init__(self) -> None:
        self._backends: dict[str, PictureBackend] = {}


def creative(
    studio: Studio,
    element: ImageElement,
    spec: Placement,
    brand: BrandKit,
    strategy: Strategy,
    written: dict[str, ElementDraft],
    source: dict[str, Any],
    facts: Facts,
) -> ElementDraft:
    """The element's creative at every size, checked; else its approved fallback creative."""
    colourway = colourway_of(brand, strategy)
    product = source.get("product")
    texts = {
        "headline": written[element.headline].text if element.headline else "",
        "body": written[element.body].text if element.body else "",
        "price": price_of(product) if element.price else "",
        "product": str(product.get("name") or "") if element.price and product else "",
        "cta": element.cta or "",
    }
    backend = studio.backend(element.backend)
    prompt = picture_prompt(element, brand, source) if backend.generated else None
    picture = backend.picture(product, prompt)
    if picture.image is None and backend.generated:
        return fallback(studio, element, brand, source, f"no generated picture: {picture.reason}")
    renditions = [
        images.render(
            _job(studio, brand, width, height, texts, colourway, strategy, picture, element),
            studio.store,
        )
        for width, height in element.dimensions()
    ]
    allowed = [*texts.values(), brand.name]
    limit = max_bytes(studio, element, spec)
    results = check_creative(renditions, allowed, limit)
    failed = [r for r in results if not r.passed]
    if failed:
        first = failed[0]
        detail = first.reasons[0].message if first.reasons else "failed"
        return fallback(studio, element, brand, source, f"image check {first.name}: {detail}")
    alt = alt_text(texts, product)
    verdict = gate.check_rendered(alt, element.name, spec, brand, source, facts)
    if not verdict.passed:
        return fallback(studio, element, brand, source, f"alt text: {gate.summary(verdict)}")
    review = element.review if element.review is not None else backend.generated
    drafted = ElementDraft(
        name=element.name,
        text=alt,
        source="composed",
        reason=None
        if picture.image is not None
        else f"laid out without a picture: {picture.reason}",
        checks={
            "passed": True,
            "score": 1.0,
            "review": review,
            "review_reasons": [],
            "checks": [r.as_dict() for r in results],
        },
        review=review,
        review_reasons=["a picture made by an image model: a person looks first"] if review else [],
    )
    drafted.media = _media(renditions, colourway_name(strategy), picture, prompt)
    return drafted


def fallback(
    studio: Studio, element: ImageElement, brand: BrandKit, source: dict[str, Any], reason: str
) -> ElementDraft:
    """The approved creative: the fallback file, or a composed one with approved text only
    (no customer data, no picture), in the default colourway."""
    chosen = element.fallback
    renditions: list[Rendition] = []
    for width, height in element.dimensions():
        if chosen.path is not None:
            fmt = "png" if element.format == "auto" else element.format
            renditions.append(_approved_file(studio, chosen.path, width, height, fmt))
            continue
        headline = render_locked(
            chosen.headline or "", {"brand": source.get("brand")}, origin=f"{element.name} fallback"
        )
        texts = {"headline": headline, "cta": element.cta or ""}
        job = Job(
            width=width,
            height=height,
            texts=texts,
            colourway=brand.visual.colourways["default"],
            layout="text",
            picture=Picture(None),
            visual=brand.visual,
            home=studio.home,
            brand=brand.name,
            format="png" if element.format == "auto" else element.format,
        )
        renditions.append(images.render(job, studio.store))
    alt = render_locked(chosen.alt, {"brand": source.get("brand")}, origin=f"{element.name} alt")
    drafted = ElementDraft(
        name=element.name, text=alt, source="fallback", reason=reason, variant_id=chosen.id
    )
    drafted.media = _media(renditions, "default", Picture(None), None)
    return drafted


def _approved_file(studio: Studio, path: str, width: int, height: int, fmt: str) -> Rendition:
    location = studio.home / path
    try:
        data = location.read_bytes()
    except OSError as exc:
        raise ConfigError(f"fallback image {path} cannot be read: {exc.strerror}") from exc
    picture = images.open_picture(data, f"fallback image {path}")
    fitted = images._cover(picture, width, height)
    encoded = images.encode(fitted, fmt)
    name = studio.store.put(encoded, fmt)
    return Rendition(width, height, name, len(encoded), fmt, "approved", [], None)


def _job(
    studio: Studio,
    brand: BrandKit,
    width: int,
    height: int,
    texts: dict[str, str],
    colourway: Colourway,
    strategy: Strategy,
    picture: Picture,
    element: ImageElement,
) -> Job:
    return Job(
        width=width,
        height=height,
        texts=texts,
        colourway=colourway,
        layout=strategy.layout or "split",
        picture=picture,
        visual=brand.visual,
        home=studio.home,
        brand=brand.name,
        format=file_format(element, picture, strategy.layout or "split"),
    )


def file_format(element: ImageElement, picture: Picture, layout: str) -> str:
    """PNG keeps text on flat colour sharp and small; a photograph compresses as JPEG."""
    if element.format != "auto":
        return element.format
    return "jpeg" if picture.image is not None and layout != "text" else "png"


def _media(
    renditions: list[Rendition], colourway: str, picture: Picture, prompt: str | None
) -> dict[str, Any]:
    return {
        "images": [
            {
                "size": f"{r.width}x{r.height}",
                "name": r.name,
                "bytes": r.bytes,
                "format": r.format,
                "layout": r.layout,
                "cached": r.cached,
            }
            for r in renditions
        ],
        "colourway": colourway,
        "picture": picture.source if picture.image is not None else "none",
        "prompt": prompt,
    }


def colourway_name(strategy: Strategy) -> str:
    return strategy.colourway or "default"


def colourway_of(brand: BrandKit, strategy: Strategy) -> Colourway:
    name = colourway_name(strategy)
    try:
        return brand.visual.colourways[name]
    except KeyError:
        known = ", ".join(brand.visual.colourways)
        raise ConfigError(
            f"strategy {strategy.name!r}: no colourway {name!r} in brand.yaml visual "
            f"(known: {known})"
        ) from None


def price_of(product: dict[str, Any] | None) -> str:
    """The catalogue's price, as the creative shows it (never a price a model wrote)."""
    if not product or product.get("price") is None:
        return ""
    symbols = {"USD": "$", "EUR": "€", "GBP": "£"}
    currency = str(product.get("currency") or "USD")
    amount = f"{float(product['price']):,.2f}"
    return f"{symbols[currency]}{amount}" if currency in symbols else f"{amount} {currency}"


def alt_text(texts: dict[str, str], product: dict[str, Any] | None) -> str:
    """What a screen reader says: the product, the headline, the price."""
    parts = [str(product["name"])] if product and product.get("name") else []
    parts += [texts[k] for k in ("headline", "price") if texts.get(k)]
    return ". ".join(p.rstrip(".") for p in parts)[:MAX_ALT] or "Image"


def picture_prompt(element: ImageElement, brand: BrandKit, source: dict[str, Any]) -> str:
    """The image model's prompt: the element's template over the product and the fields it
    lists (customer data fenced as values, never instructions), the brand's style words and
    what it must not draw. It never asks for text in the picture: text is laid out by us."""
    variables = {
        "product": source.get("product") or {},
        "brand": brand.name,
        "data": select_fields(source, element.fields),
    }
    described = render(element.prompt or "", variables, origin=f"element {element.name} prompt")
    style = ", ".join(brand.visual.style)
    avoid = ", ".join(["text", "letters", "logos", *brand.visual.negative])
    return " ".join(
        p for p in (described.strip(), f"Style: {style}." if style else "", f"Avoid: {avoid}.") if p
    )


def max_bytes(studio: Studio, element: ImageElement, spec: Placement) -> int:
    kb = element.max_kb or studio.config.max_kb.get(spec.channel, 2048)
    return int(kb) * 1024


def creative_variant(elements: dict[str, Any]) -> str | None:
    """How a stored message's creative was made, as campaign results group it: the layout, the
    colourway and where the picture came from, or the approved fallback."""
    for element in elements.values():
        media = element.get("media")
        if not media:
            continue
        if element.get("source") == "fallback":
            return f"approved fallback ({element.get('variant_id')})"
        layouts = sorted({i["layout"] for i in media.get("images", [])})
        colours, picture = media.get("colourway"), media.get("picture")
        return f"{'/'.join(layouts)} layout, {colours} colours, picture: {picture}"
    return None
