"""Creatives: the gated texts of a message laid out over a picture, in the brand's colours.

A creative is rendered per size from a ``Job``: the texts (only what the quality gate passed,
approved copy and catalogue prices), a colourway and a layout from the brand kit and the
strategy, and a ``Picture`` from an image backend (``compose``: the product's catalogue image;
``openai-images``: a picture generated from the element's prompt; or a plug-in's). An image
model never draws text: every word in a creative is laid out here.

Creatives are content-addressed (``<sha256>.png``) in the store, where every worker of a
cluster writes them and the server reads them, and every render is keyed by its inputs, so
identical inputs give the byte-identical file without rendering again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tempfile
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from monogram.content.brand import BrandKit, Colourway, Visual
from monogram.content.placements import Placement
from monogram.core.clock import now
from monogram.core.errors import ConfigError, MonogramError, NotFound
from monogram.core.plugins import Registry
from monogram.store.engine import Store
from monogram.store.tables import creative_renders, creatives

# Part of every cache key: a change to the layout renders every creative afresh.
RENDERER = "compose-1"
FORMATS = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}
MAX_PIXELS = 40_000_000  # a picture larger than this is refused before it is decoded
PICTURE_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}

IMAGE_BACKENDS = Registry(
    "monogram.images",
    "image backend",
    {
        "compose": "monogram.content.images:CataloguePictures",
        "openai-images": "monogram.content.image_backends:OpenAIImages",
    },
)


class ImageError(MonogramError):
    """A picture could not be had (a download, a server, a file): the caller falls back."""

    code = "image_error"
    status_code = 502


@dataclass
class Picture:
    """The picture a creative shows, or why there is none."""

    image: Image.Image | None
    digest: str | None = None  # of the source bytes: part of the cache key
    source: str = "none"  # product | generated | none
    reason: str | None = None  # why there is no picture
    # The picture scaled and cropped per size, kept with it: customers who see the same
    # product's picture at the same size share the work.
    covers: dict[tuple[int, int], Image.Image] = field(default_factory=dict, repr=False)

    def cover(self, width: int, height: int) -> Image.Image:
        assert self.image is not None
        found = self.covers.get((width, height))
        if found is None:
            found = self.covers[(width, height)] = _cover(self.image, width, height)
        return found


class PictureBackend(Protocol):
    """Gives the picture for one creative. ``generated`` says whether an image model made it
    (such creatives go to review by default)."""

    generated: bool

    def picture(self, product: dict[str, Any] | None, prompt: str | None) -> Picture: ...


@dataclass
class TextBox:
    role: str  # wordmark | headline | body | price | cta
    text: str
    box: tuple[int, int, int, int]
    size: int  # font size in pixels
    colour: str
    fits: bool = True  # the whole text fits its box at a readable size
    contrast: float = 21.0  # WCAG contrast against what is behind it (measured)


@dataclass
class Rendition:
    width: int
    height: int
    name: str  # the file: <sha256>.<ext>
    bytes: int
    format: str
    layout: str
    texts: list[TextBox]
    logo: tuple[int, int, int, int] | None  # where the logo or wordmark is
    logo_ink: float = 0.0  # how much the logo's box varies (0: nothing drawn there)
    picture: str = "none"  # product | generated | none
    cached: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Job:
    width: int
    height: int
    texts: dict[str, str]  # role -> text: headline, body, price, cta
    colourway: Colourway
    layout: str  # split | full | text
    picture: Picture
    visual: Visual
    home: Path  # the workspace: logo and font paths are relative to it
    brand: str
    format: str = "png"
    extra: dict[str, Any] = field(default_factory=dict)


def render(job: Job, store: ImageStore) -> Rendition:
    """The creative for ``job``, from the store when identical inputs were rendered before."""
    key = _key(job)
    known = store.known(key)
    if known is not None:
        return _rendition(known, cached=True)
    image, texts, logo = lay_out(job)
    data = encode(image, job.format)
    name = store.put(data, job.format)
    found = Rendition(
        width=job.width,
        height=job.height,
        name=name,
        bytes=len(data),
        format=job.format,
        layout=_layout(job),
        texts=texts,
        logo=logo,
        logo_ink=_ink(image, logo),
        picture=job.picture.source if job.picture.image is not None else "none",
    )
    store.remember(key, found.as_dict())
    return found


def _rendition(data: dict[str, Any], cached: bool) -> Rendition:
    texts = [TextBox(**{**t, "box": tuple(t["box"])}) for t in data["texts"]]
    logo = tuple(data["logo"]) if data.get("logo") else None
    return Rendition(**{**data, "texts": texts, "logo": logo, "cached": cached})


def _layout(job: Job) -> str:
    return "text" if job.picture.image is None else job.layout


def _key(job: Job) -> str:
    visual = job.visual
    parts = {
        "renderer": RENDERER,
        "size": [job.width, job.height],
        "texts": job.texts,
        "colourway": job.colourway.model_dump(),
        "layout": _layout(job),
        "picture": job.picture.digest,
        "logo": _file_digest(job.home, visual.logo),
        "fonts": [_file_digest(job.home, visual.font), _file_digest(job.home, visual.font_bold)],
        "brand": job.brand,
        "format": job.format,
    }
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _file_digest(home: Path, path: str | None) -> str | None:
    if path is None:
        return None
    found = home / path
    try:
        stat = found.stat()
    except OSError as exc:
        raise ConfigError(f"brand.yaml visual: {path} cannot be read: {exc}") from exc
    return f"{found}:{stat.st_size}:{stat.st_mtime_ns}"


def encode(image: Image.Image, fmt: str) -> bytes:
    """The same pixels always give the same bytes (no timestamps, fixed settings)."""
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=6)
    elif fmt == "webp":
        image.save(buffer, "WEBP", quality=85, method=4)
    else:
        image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


# -- layout -------------------------------------------------------------------------------------


def lay_out(job: Job) -> tuple[Image.Image, list[TextBox], tuple[int, int, int, int]]:
    """Draw the creative: the picture (beside or above the text, behind it, or none), the logo
    or wordmark, headline, body, price and button inside the text panel. Each text's contrast
    is measured against the pixels behind it before the text is drawn."""
    width, height = job.width, job.height
    colours = job.colourway
    canvas = Image.new("RGB", (width, height), colours.background)
    panel = (0, 0, width, height)
    picture = job.picture.image
    layout = _layout(job)
    landscape = width / height >= 1.25
    if picture is not None and layout == "split":
        if landscape:
            split = int(width * 0.5)
            canvas.paste(job.picture.cover(width - split, height), (split, 0))
            panel = (0, 0, split, height)
        else:
            split = int(height * 0.5)
            canvas.paste(job.picture.cover(width, split), (0, 0))
            panel = (0, split, width, height)
    elif picture is not None and layout == "full":
        canvas.paste(job.picture.cover(width, height), (0, 0))
        if landscape:
            panel = (0, 0, int(width * 0.62), height)
        else:
            panel = (0, int(height * 0.45), width, height)
        area = (panel[2] - panel[0], panel[3] - panel[1])
        scrim = Image.new("RGBA", area, (*_rgb(colours.background), 224))
        canvas.paste(scrim, panel[:2], scrim)
    draw = ImageDraw.Draw(canvas)
    texts: list[TextBox] = []
    words: list[tuple[tuple[float, float], str, ImageFont.FreeTypeFont, str, str]] = []
    x0, y0, x1, y1 = panel
    pad = max(8, round(min(x1 - x0, y1 - y0) * 0.08))
    x0, y0, x1, y1 = x0 + pad, y0 + pad, x1 - pad, y1 - pad
    inner_h = y1 - y0
    regular, bold = _fonts(job.home, job.visual)
    # Logo (or the brand's name as a wordmark) at the top.
    mark_h = max(12, round(inner_h * 0.09))
    logo_box = _logo(canvas, job, (x0, y0, x1, y0 + mark_h), bold, texts, words)
    top = logo_box[3] + round(mark_h * 0.8)
    # The button and the price from the bottom up.
    bottom = y1
    if job.texts.get("cta"):
        button_h = max(18, round(inner_h * 0.14))
        label_font = _font(bold, max(10, round(button_h * 0.45)))
        label = job.texts["cta"]
        label_w = round(label_font.getlength(label))
        button_w = min(x1 - x0, label_w + button_h)
        box = (x0, bottom - button_h, x0 + button_w, bottom)
        draw.rounded_rectangle(box, radius=button_h // 5, fill=colours.accent)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        words.append((centre, label, label_font, colours.accent_text, "mm"))
        fits = label_w <= x1 - x0
        texts.append(TextBox("cta", label, box, int(label_font.size), colours.accent_text, fits))
        bottom = box[1] - round(button_h * 0.4)
    if job.texts.get("price"):
        price_font = _font(bold, max(11, round(inner_h * 0.08)))
        box = (x0, bottom - int(price_font.size), x1, bottom)
        words.append(((x0, box[3]), job.texts["price"], price_font, colours.text, "ls"))
        texts.append(TextBox("price", job.texts["price"], box, int(price_font.size), colours.text))
        bottom = box[1] - round(price_font.size * 0.35)
    if job.texts.get("product"):  # the product's catalogue name, above its price
        room = (x0, bottom - round(inner_h * 0.16), x1, bottom)
        start, least = max(11, round(inner_h * 0.06)), max(10, round(inner_h * 0.04))
        name = job.texts["product"]
        used, size, fits = _fit(name, regular, room, start, least, 2, colours.text, words, True)
        texts.append(TextBox("product", name, used, size, colours.text, fits))
        bottom = used[1] - round(size * 0.6)
    # Headline, then body, in what is left.
    if job.texts.get("headline"):
        start, least = max(14, round(inner_h * 0.14)), max(11, round(inner_h * 0.055))
        share = 0.62 if job.texts.get("body") else 1.0
        room = (x0, top, x1, top + int((bottom - top) * share))
        used, size, fits = _fit(
            job.texts["headline"], bold, room, start, least, 3, colours.text, words
        )
        texts.append(TextBox("headline", job.texts["headline"], used, size, colours.text, fits))
        top = used[3] + round(size * 0.5)
    if job.texts.get("body"):
        start = max(11, round(inner_h * 0.065))
        room = (x0, top, x1, bottom)
        used, size, fits = _fit(job.texts["body"], regular, room, start, 10, 4, colours.text, words)
        texts.append(TextBox("body", job.texts["body"], used, size, colours.text, fits))
    for text in texts:  # what is behind each text, before any text is drawn
        text.contrast = contrast_behind(canvas, text.box, text.colour)
    for at, line, font, colour, anchor in words:
        draw.text(at, line, font=font, fill=colour, anchor=anchor)
    return canvas, texts, logo_box


def _fit(
    text: str,
    face: str,
    room: tuple[int, int, int, int],
    start: int,
    least: int,
    max_lines: int,
    colour: str,
    words: list[tuple[tuple[float, float], str, ImageFont.FreeTypeFont, str, str]],
    from_bottom: bool = False,
) -> tuple[tuple[int, int, int, int], int, bool]:
    """Wrap ``text`` into ``room`` at the largest size from ``start`` down to ``least``: the box
    it takes, its font size, and whether it fits. At the least size it is laid out whole and
    reported as not fitting (the fit check then fails it)."""
    x0, y0, x1, y1 = room
    size = start
    while True:
        font = _font(face, size)
        lines = _wrap(text, font, x1 - x0)
        line_h = round(size * 1.2)
        fits = (
            len(lines) <= max_lines
            and line_h * len(lines) <= y1 - y0
            and all(font.getlength(line) <= x1 - x0 for line in lines)
        )
        if fits or size <= least:
            break
        size = max(least, size - max(1, size // 12))
    if from_bottom:  # laid out upwards from the bottom of the room
        y0 = y1 - line_h * len(lines)
    for index, line in enumerate(lines):
        words.append(((x0, y0 + index * line_h), line, font, colour, "la"))
    used = (x0, y0, x1, y0 + line_h * len(lines))
    return used, size, fits


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and font.getlength(trial) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def _logo(
    canvas: Image.Image,
    job: Job,
    box: tuple[int, int, int, int],
    bold: str,
    texts: list[TextBox],
    words: list[tuple[tuple[float, float], str, ImageFont.FreeTypeFont, str, str]],
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    if job.visual.logo:
        logo = _logo_image(str(job.home / job.visual.logo))
        scale = min((y1 - y0) / logo.height, (x1 - x0) / logo.width)
        size = (max(1, round(logo.width * scale)), max(1, round(logo.height * scale)))
        fitted = logo.resize(size, Image.Resampling.LANCZOS)
        canvas.paste(fitted, (x0, y0), fitted)
        return (x0, y0, x0 + size[0], y0 + size[1])
    font = _font(bold, max(10, round((y1 - y0) * 0.8)))
    mark = job.brand
    while font.size > 10 and font.getlength(mark) > x1 - x0:
        font = _font(bold, font.size - 1)
    words.append(((x0, y1), mark, font, job.colourway.text, "ls"))
    used = (x0, y0, x0 + round(font.getlength(mark)), y1)
    texts.append(TextBox("wordmark", mark, used, int(font.size), job.colourway.text))
    return used


def _ink(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    pixels = np.asarray(image.crop(box).convert("L"), dtype=np.float64)
    return round(float(pixels.std()), 2) if pixels.size else 0.0


def contrast_behind(image: Image.Image, box: tuple[int, int, int, int], colour: str) -> float:
    """WCAG contrast of ``colour`` against what is behind ``box``: the worst 5% of the
    background's pixels (a photo behind text is only as readable as its lightest parts)."""
    region = np.asarray(image.crop(box).convert("RGB"), dtype=np.float64) / 255.0
    if region.size == 0:
        return 21.0
    behind = _luminance(region.reshape(-1, 3))
    front = float(_luminance(np.asarray([_rgb(colour)], dtype=np.float64) / 255.0)[0])
    ratio = (np.maximum(behind, front) + 0.05) / (np.minimum(behind, front) + 0.05)
    return round(float(np.percentile(ratio, 5)), 2)


def _luminance(rgb: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    weights: np.ndarray[Any, Any] = linear @ np.asarray([0.2126, 0.7152, 0.0722])
    return weights


def _cover(picture: Image.Image, width: int, height: int) -> Image.Image:
    """The picture scaled to cover ``width`` x ``height`` and cropped at the centre."""
    scale = max(width / picture.width, height / picture.height)
    size = (max(width, round(picture.width * scale)), max(height, round(picture.height * scale)))
    scaled = picture.resize(size, Image.Resampling.LANCZOS)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _fonts(home: Path, visual: Visual) -> tuple[str, str]:
    regular = str(home / visual.font) if visual.font else _bundled("DejaVuSans.ttf")
    bold = str(home / visual.font_bold) if visual.font_bold else _bundled("DejaVuSans-Bold.ttf")
    return regular, bold


def _bundled(name: str) -> str:
    """DejaVu Sans, shipped in matplotlib's wheel (a dependency): no font download."""
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name)


@functools.lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError as exc:
        raise ConfigError(f"brand.yaml visual: the font {path} does not load: {exc}") from exc


@functools.lru_cache(maxsize=16)
def _logo_image(path: str) -> Image.Image:
    try:
        with Image.open(path) as found:
            return found.convert("RGBA")
    except OSError as exc:
        raise ConfigError(f"brand.yaml visual: the logo {path} does not load: {exc}") from exc


# -- pictures -----------------------------------------------------------------------------------


def open_picture(data: bytes, where: str) -> Image.Image:
    """Decode a picture someone else made, refusing what is not an image or is too large."""
    try:
        with Image.open(io.BytesIO(data)) as found:
            if found.format not in PICTURE_FORMATS:
                raise ImageError(f"{where}: {found.format} is not a picture format we read")
            if found.width * found.height > MAX_PIXELS:
                raise ImageError(f"{where}: {found.width}x{found.height} pixels is too large")
            found.load()
            return found.convert("RGB")
    except ImageError:
        raise
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise ImageError(f"{where}: not a readable image ({exc})") from exc


class CataloguePictures:
    """The ``compose`` backend: the product's own picture, from its catalogue ``image`` (an
    http(s) URL, downloaded once into the workspace, or a local file)."""

    generated = False

    KEEP = 64  # decoded pictures kept in memory (the products a campaign shows most)

    def __init__(self, config: Any, home: Path) -> None:
        self.config = config
        self.home = home
        self.sources = home / "images" / "sources"
        self._decoded: OrderedDict[str, Picture] = OrderedDict()

    def picture(self, product: dict[str, Any] | None, prompt: str | None) -> Picture:
        location = (product or {}).get("image")
        if not location:
            return Picture(None, reason="the product has no picture in the catalogue")
        kept = self._decoded.get(str(location))
        if kept is not None:
            return kept
        try:
            data = self._bytes(str(location))
            image = open_picture(data, f"product {product.get('id') if product else ''} image")
        except ImageError as exc:
            return Picture(None, reason=str(exc))
        found = Picture(image, hashlib.sha256(data).hexdigest(), "product")
        self._decoded[str(location)] = found
        while len(self._decoded) > self.KEEP:
            self._decoded.popitem(last=False)
        return found

    def _bytes(self, location: str) -> bytes:
        if location.startswith(("http://", "https://")):
            from monogram.content.image_backends import download

            cached = self.sources / (hashlib.sha256(location.encode()).hexdigest() + ".bin")
            if cached.exists():
                return cached.read_bytes()
            data = download(location, self.config)
            _write_atomic(cached, data)
            return data
        path = Path(location) if Path(location).is_absolute() else self.home / location
        try:
            size = path.stat().st_size
            if size > self.config.max_download_mb * 1_000_000:
                raise ImageError(f"{location}: {size} bytes is over images.max_download_mb")
            return path.read_bytes()
        except OSError as exc:
            raise ImageError(f"{location}: cannot be read ({exc.strerror})") from exc


def picture_backend(name: str, config: Any, home: Path) -> PictureBackend:
    backend: PictureBackend = IMAGE_BACKENDS.get(name)(config, home)
    return backend


# -- storage ------------------------------------------------------------------------------------


class ImageStore:
    """Creatives by content (``<sha256>.<ext>``) and renders by their inputs, in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def check_name(name: str) -> str:
        stem, _, ext = name.partition(".")
        if len(stem) != 64 or not all(c in "0123456789abcdef" for c in stem) or ext not in FORMATS:
            raise ValueError(f"not a creative's name: {name!r}")
        return name

    def put(self, data: bytes, fmt: str) -> str:
        name = f"{hashlib.sha256(data).hexdigest()}.{fmt}"
        row = {"name": name, "format": fmt, "bytes": len(data), "data": data, "created_at": now()}
        try:
            with self.store.write() as conn:
                if conn.execute(select(creatives.c.name).where(creatives.c.name == name)).first():
                    return name
                conn.execute(insert(creatives).values(**row))
        except IntegrityError:  # the same bytes, written at that moment by another worker
            pass
        return name

    def read(self, name: str) -> bytes:
        with self.store.read() as conn:
            found = conn.execute(
                select(creatives.c.data).where(creatives.c.name == self.check_name(name))
            ).first()
        if found is None:
            raise NotFound(f"no creative {name}")
        return bytes(found.data)

    def known(self, key: str) -> dict[str, Any] | None:
        """What a render with these inputs gave, if the creative is still stored."""
        with self.store.read() as conn:
            row = conn.execute(
                select(creative_renders.c.rendition)
                .join(creatives, creatives.c.name == creative_renders.c.name)
                .where(creative_renders.c.key == key)
            ).first()
        return dict(row.rendition) if row is not None else None

    def remember(self, key: str, rendition: dict[str, Any]) -> None:
        row = {"key": key, "name": rendition["name"], "rendition": {**rendition, "cached": False}}
        try:
            with self.store.write() as conn:
                conn.execute(delete(creative_renders).where(creative_renders.c.key == key))
                conn.execute(insert(creative_renders).values(**row))
        except IntegrityError:  # rendered at that moment by another worker: theirs stands
            pass


def _write_atomic(target: Path, data: bytes) -> None:
    """Whole or not at all (a crash leaves no half-written file), readable by the owner only."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast between two ``#RRGGBB`` colours."""
    pair = np.asarray([_rgb(first), _rgb(second)], dtype=np.float64) / 255.0
    light, dark = sorted(_luminance(pair), reverse=True)
    return float((light + 0.05) / (dark + 0.05))


def image_warnings(brand: BrandKit, placement: Placement, home: Path) -> list[str]:
    """What would make a creative fall back every time, found before a campaign runs: a
    colourway a strategy names that the brand kit lacks, colours under WCAG AA, an approved
    fallback file that is not there, an image backend nobody registered."""
    out: list[str] = []
    colourways = brand.visual.colourways
    for strategy in placement.strategies:
        if strategy.colourway and strategy.colourway not in colourways:
            known = ", ".join(colourways)
            out.append(
                f"{placement.name}: strategy {strategy.name!r} names colourway "
                f"{strategy.colourway!r}, not in brand.yaml visual ({known})"
            )
    if placement.images():
        for name, colours in colourways.items():
            for front, back, what in (
                (colours.text, colours.background, "text on background"),
                (colours.accent_text, colours.accent, "button text on button"),
            ):
                ratio = contrast_ratio(front, back)
                if ratio < 4.5:
                    out.append(
                        f"brand.yaml visual colourway {name!r}: {what} is {ratio:.2f}:1, "
                        "under WCAG AA 4.5:1 (its creatives will fall back)"
                    )
    for element in placement.images():
        where = f"{placement.name}.{element.name}"
        if element.fallback.path and not (home / element.fallback.path).is_file():
            out.append(f"{where}: fallback image {element.fallback.path} is not a file")
        if element.backend and element.backend not in IMAGE_BACKENDS.names():
            registered = ", ".join(IMAGE_BACKENDS.names())
            out.append(
                f"{where}: image backend {element.backend!r} is not registered ({registered})"
            )
    return out
