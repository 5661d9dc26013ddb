"""The product catalogue: import (JSONL, JSON, CSV), list, look up.

Products are the facts generation is later grounded in, so each row is validated: id, name,
category and a non-negative price are required; attributes are a mapping (in CSV, a JSON
object in the ``attributes`` column, or extra columns named ``attr_*``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Connection, delete, func, insert, select

from monogram.cdp.csvrows import BrokenRow, read_csv
from monogram.core.clock import now
from monogram.core.errors import FieldError, NotFound, ValidationError
from monogram.store import Store
from monogram.store.tables import product_stats, products


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=500)
    category: str = Field(min_length=1, max_length=200)
    brand: str | None = Field(default=None, max_length=200)
    price: float = Field(ge=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    attributes: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
    url: str | None = Field(default=None, max_length=2000)
    image: str | None = Field(
        default=None,
        max_length=2000,
        description="the product's picture: an http(s) URL (downloaded once and cached) or a "
        "path to a local file",
    )

    @cached_property
    def facets(self) -> tuple[str, str, frozenset[str]]:
        """Lower-cased category, brand and tags (with the category), as recommendations and
        rules compare them; worked out once per loaded product."""
        category = self.category.lower()
        tags = self.attributes.get("tags")
        found = {str(t).lower() for t in tags} if isinstance(tags, list) else set()
        return category, (self.brand or "").lower(), frozenset({category, *found})

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None


@dataclass
class CatalogReport:
    imported: int = 0
    rejected: list[tuple[int, list[FieldError]]] = field(default_factory=list)


def read_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of a catalogue file with their line (or item) numbers."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        for number, row in read_csv(path):
            yield number, _Broken(row.reason) if isinstance(row, BrokenRow) else _csv_product(row)
    elif suffix == ".json":
        data = orjson.loads(path.read_bytes())
        items = data.get("products", data) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValidationError(f"{path}: expected a list of products")
        yield from enumerate(items, start=1)
    elif suffix in (".jsonl", ".ndjson"):
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield number, orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        yield number, _Broken(f"not JSON: {exc}")
    else:
        raise ValidationError(
            f"{path}: unknown catalogue format {suffix!r}; use .csv, .json or .jsonl"
        )


@dataclass
class _Broken:
    reason: str


def _csv_product(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value == "":
            continue
        if key.startswith("attr_"):
            attributes[key[5:]] = value
        elif key == "attributes":
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError:
                parsed = value
            out["attributes"] = parsed
        else:
            out[key] = value
    if attributes:
        given = out.get("attributes")
        out["attributes"] = {**(given if isinstance(given, dict) else {}), **attributes}
    return out


def validate_product(raw: Any) -> Product:
    if isinstance(raw, _Broken):
        raise ValidationError("invalid product:", [FieldError("line", raw.reason)])
    try:
        return Product.model_validate(raw)
    except PydanticValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "row", e["msg"]) for e in exc.errors()
        ]
        raise ValidationError("invalid product:", errors) from exc


def import_products(
    store: Store, rows: Iterable[tuple[int, Any]], *, check: bool = False
) -> CatalogReport:
    """Upsert valid products; collect row numbers and reasons for the rest. ``check``: only
    report what an import would do (nothing is written)."""
    report = CatalogReport()
    good: dict[str, Product] = {}
    for number, raw in rows:
        try:
            product = validate_product(raw)
        except ValidationError as exc:
            report.rejected.append((number, exc.errors))
            continue
        good[product.id] = product
    if good and not check:
        save_products(store, list(good.values()))
    report.imported = len(good)
    return report


def save_products(store: Store, items: list[Product]) -> None:
    at = now()
    with store.write() as conn:
        ids = [p.id for p in items]
        for start in range(0, len(ids), 400):
            conn.execute(delete(products).where(products.c.id.in_(ids[start : start + 400])))
        conn.execute(insert(products), [{**p.model_dump(), "updated_at": at} for p in items])
    _cache.clear()


def list_products(
    conn: Connection, *, category: str | None = None, limit: int | None = None
) -> list[Product]:
    query = select(products).order_by(products.c.id)
    if category:
        query = query.where(products.c.category == category)
    if limit:
        query = query.limit(limit)
    return [_product(r) for r in conn.execute(query)]


def get_product(conn: Connection, product_id: str) -> Product:
    row = conn.execute(select(products).where(products.c.id == product_id)).first()
    if row is None:
        raise NotFound(f"no product with id {product_id!r}")
    return _product(row)


def _product(row: Any) -> Product:
    return Product(
        id=row.id,
        name=row.name,
        category=row.category,
        brand=row.brand,
        price=row.price,
        currency=row.currency,
        attributes=row.attributes or {},
        description=row.description,
        url=row.url,
        image=row.image,
    )


_cache: dict[str, Any] = {}
# How often a process looks for catalogue changes: an import shows in every process within this.
CHECK_EVERY = 2.0
T = TypeVar("T")


def cached_catalog(conn: Connection) -> tuple[dict[str, Product], dict[str, float]]:
    """All products and their popularity in [0, 1], cached until the catalogue changes.

    Popularity (views plus five times purchases, log-scaled) is refreshed every 500 reads.
    """
    url = str(conn.engine.url)
    if _cache.get("url") == url and time.monotonic() < _cache.get("checked_until", 0):
        key = _cache["key"]  # checked for changes within the last CHECK_EVERY seconds
    else:
        version = conn.execute(
            select(func.count(), func.max(products.c.updated_at)).select_from(products)
        ).one()
        key = f"{url}|{version[0]}|{version[1]}"
        _cache.update(url=url, checked_until=time.monotonic() + CHECK_EVERY)
    if _cache.get("key") != key or _cache.get("reads", 0) >= 500:
        catalog = {p.id: p for p in list_products(conn)}
        stats = {
            r.product_id: r.views + 5 * r.purchases for r in conn.execute(select(product_stats))
        }
        top = max((math.log1p(v) for v in stats.values()), default=0.0) or 1.0
        popularity = {pid: round(math.log1p(stats.get(pid, 0)) / top, 4) for pid in catalog}
        if _cache.get("key") != key:
            _cache["derived"] = {}
        _cache.update(key=key, catalog=catalog, popularity=popularity, reads=0)
    _cache["reads"] = _cache.get("reads", 0) + 1
    return _cache["catalog"], _cache["popularity"]


def derived(conn: Connection, name: str, build: Callable[[dict[str, Product]], T]) -> T:
    """``build(catalogue)``, computed once and kept until the catalogue changes: for what
    later stages derive from the whole catalogue (the gate's facts, word lists)."""
    catalog, _ = cached_catalog(conn)
    made = _cache.setdefault("derived", {})
    if name not in made:
        made[name] = build(catalog)
    found: T = made[name]
    return found
