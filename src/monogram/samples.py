"""Seeded, realistic sample data for the demo, the tests and the benchmarks.

A fictional outdoor retailer, *Trailhead & Co.*: about 150 products over eight categories with
the attributes different shoppers care about (durability and warranty for practical buyers,
style and colourways for design-minded ones, price for bargain hunters), and customers who
browse anonymously on several devices, log in, order, open email, change their consent and
answer the preference centre. Everything is a Segment event, written as JSONL.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from faker import Faker

from monogram.core.clock import iso, now

CATEGORIES: dict[str, dict[str, Any]] = {
    "running": {
        "items": [
            "Road Shoe",
            "Trail Shoe",
            "Racing Flat",
            "Running Vest",
            "Running Tights",
            "Running Cap",
        ],
        "price": (25, 180),
    },
    "hiking": {
        "items": [
            "Hiking Boot",
            "Trekking Poles",
            "Daypack",
            "Hiking Sock",
            "Gaiters",
            "Trail Map Case",
        ],
        "price": (15, 260),
    },
    "camping": {
        "items": ["Tent", "Sleeping Bag", "Camp Stove", "Headlamp", "Camp Chair", "Water Filter"],
        "price": (20, 480),
    },
    "cycling": {
        "items": [
            "Cycling Jersey",
            "Bike Helmet",
            "Bike Light",
            "Cycling Gloves",
            "Saddle Bag",
            "Bib Shorts",
        ],
        "price": (20, 220),
    },
    "yoga": {
        "items": [
            "Yoga Mat",
            "Yoga Block",
            "Yoga Strap",
            "Studio Legging",
            "Meditation Cushion",
            "Mat Towel",
        ],
        "price": (12, 140),
    },
    "swimming": {
        "items": ["Swim Goggles", "Swimsuit", "Swim Cap", "Kickboard", "Wetsuit", "Pull Buoy"],
        "price": (10, 350),
    },
    "climbing": {
        "items": [
            "Climbing Shoe",
            "Chalk Bag",
            "Harness",
            "Belay Device",
            "Crash Pad",
            "Quickdraw Set",
        ],
        "price": (15, 300),
    },
    "apparel": {
        "items": [
            "Rain Jacket",
            "Fleece",
            "Base Layer",
            "Down Vest",
            "Softshell Pant",
            "Merino Tee",
        ],
        "price": (30, 320),
    },
}
BRANDS = [
    "Stride",
    "Ridgeline",
    "Northfold",
    "Kestrel",
    "Lumen",
    "Alder & Ash",
    "Tidewater",
    "Summit Lab",
]
STYLES = ["minimal", "bold", "classic", "technical", "retro"]
COLOURS = ["slate", "moss", "ember", "glacier", "sand", "midnight", "coral", "fern"]
MATERIALS = [
    "recycled nylon",
    "merino wool",
    "ripstop polyester",
    "aluminium",
    "natural rubber",
    "organic cotton",
    "EVA foam",
]
PERSONAS: dict[str, dict[str, Any]] = {
    "practical": {"share": 0.35, "orders": (1, 8)},
    "design": {"share": 0.25, "orders": (1, 6)},
    "bargain": {"share": 0.25, "orders": (0, 5)},
    "premium": {"share": 0.15, "orders": (2, 12)},
}
STORE = "https://shop.trailhead.example"


@dataclass
class SampleSizes:
    customers: int = 2000
    products_per_item: int = 3  # 8 categories x 6 items x 3 = 144 products
    anonymous_visitors: int = 300
    events_per_customer: int = 40


def catalog(seed: int = 7, per_item: int = 3) -> list[dict[str, Any]]:
    """About 150 products with attributes that matter to different shoppers."""
    rng = random.Random(seed)
    products: list[dict[str, Any]] = []
    for category, spec in CATEGORIES.items():
        low, high = spec["price"]
        for item in spec["items"]:
            for variant in range(per_item):
                brand = rng.choice(BRANDS)
                style = rng.choice(STYLES)
                durability = rng.randint(2, 5)
                warranty = rng.choice([1, 2, 3, 5]) if durability >= 4 else rng.choice([1, 2])
                price = round(rng.uniform(low, high) * (1.35 if variant == 2 else 1.0), 0) - 0.01
                material = rng.choice(MATERIALS)
                colours = rng.sample(COLOURS, rng.randint(1, 4))
                name = f"{brand} {['', 'Pro ', 'Lite '][variant]}{item}".replace("  ", " ")
                pid = f"{category[:3]}-{item.split()[0].lower()}-{len(products) + 1:03d}"
                products.append(
                    {
                        "id": pid,
                        "name": name,
                        "category": category,
                        "brand": brand,
                        "price": price,
                        "currency": "USD",
                        "attributes": {
                            "material": material,
                            "durability_rating": durability,
                            "warranty_years": warranty,
                            "style": style,
                            "colourways": colours,
                            "weight_g": rng.randint(40, 2400),
                            "waterproof": rng.random() < 0.4,
                            "tags": sorted(
                                {category, style, "durable" if durability >= 4 else "everyday"}
                            ),
                        },
                        "description": (
                            f"The {name} in {material}: {_promise(durability, warranty)}; "
                            f"a {style} look in {', '.join(colours)}."
                        ),
                        "url": f"{STORE}/p/{pid}",
                    }
                )
    return products


def _promise(durability: int, warranty: int) -> str:
    if durability >= 4:
        return f"built to last, with a {warranty}-year warranty"
    return "light and easy for everyday use"


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[dict[str, Any]] = []
        self.counter = 0

    def add(self, event: dict[str, Any], at: datetime) -> None:
        self.counter += 1
        event["timestamp"] = iso(at)
        event["messageId"] = f"demo-{self.counter:08d}"
        self.events.append(event)


def events(
    products: list[dict[str, Any]],
    *,
    seed: int = 7,
    sizes: SampleSizes | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """About 100,000 Segment events over two years, ending at ``until`` (default: now)."""
    sizes = sizes or SampleSizes()
    until = until or now()
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    writer = _Writer(rng)
    by_category: dict[str, list[dict[str, Any]]] = {}
    for product in products:
        by_category.setdefault(product["category"], []).append(product)
    shared_devices = [f"shared-tablet-{i}" for i in range(max(1, sizes.customers // 100))]
    for number in range(sizes.customers):
        _customer(writer, fake, number, by_category, until, sizes, shared_devices)
    for number in range(sizes.anonymous_visitors):
        _visitor(writer, number, by_category, until)
    writer.events.sort(key=lambda e: e["timestamp"])
    return writer.events


def _persona(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for name, spec in PERSONAS.items():
        total += spec["share"]
        if roll < total:
            return name
    return "practical"


def _customer(
    w: _Writer,
    fake: Faker,
    number: int,
    by_category: dict[str, list[dict[str, Any]]],
    until: datetime,
    sizes: SampleSizes,
    shared_devices: list[str],
) -> None:
    rng = w.rng
    persona = _persona(rng)
    favourites = rng.sample(sorted(by_category), 2)
    first, last = fake.first_name(), fake.last_name()
    user_id = f"cust-{number + 1:05d}"
    email = f"{first}.{last}{number}@example.com".lower()
    devices = [f"anon-{number + 1:05d}-{d}" for d in range(rng.randint(1, 3))]
    if rng.random() < 0.01:
        devices.append(rng.choice(shared_devices))  # a family tablet two people log in on
    start = until - timedelta(days=rng.randint(40, 720))
    active_days = (until - start).days
    # A few customers went quiet long ago: their activity stops early.
    stop = until - timedelta(days=rng.choice([0, 0, 0, 10, 60, 150, 300, 420]))
    clock = start
    for _ in range(rng.randint(2, 6)):
        w.add(
            {
                "type": "page",
                "anonymousId": devices[0],
                "name": "Home",
                "properties": {"path": "/"},
            },
            clock,
        )
        _browse(w, devices[0], None, favourites, by_category, clock, rng.randint(1, 3))
        clock += timedelta(hours=rng.randint(2, 48))
    consent = {
        "email_marketing": rng.random() < 0.82,
        "ai_generation": rng.random() < 0.9,
        "personalization": rng.random() < 0.93,
        "sms_marketing": rng.random() < 0.3,
        "advertising": rng.random() < 0.6,
    }
    traits: dict[str, Any] = {
        "email": email if rng.random() > 0.01 else "test@test.com",
        "first_name": first,
        "last_name": last,
        "persona": persona,
        "address": {"city": fake.city(), "state": fake.state_abbr(), "country": "US"},
        "consent": consent,
        "created_at": iso(clock),
    }
    if rng.random() < 0.6:
        traits["phone"] = f"+1 212 555 {rng.randint(1000, 9999)}"
    w.add(
        {"type": "identify", "anonymousId": devices[0], "userId": user_id, "traits": traits}, clock
    )
    for device in devices[1:]:
        when = clock + timedelta(days=rng.randint(1, max(2, active_days // 3)))
        if when < stop:
            w.add(
                {
                    "type": "identify",
                    "anonymousId": device,
                    "userId": user_id,
                    "traits": {"email": email},
                },
                when,
            )
    low, high = PERSONAS[persona]["orders"]
    orders = rng.randint(low, high)
    budget = sizes.events_per_customer
    span = max(1, (stop - clock).days)
    for _ in range(max(5, int(budget * rng.uniform(0.5, 1.5)) - 8)):
        when = clock + timedelta(minutes=rng.randint(0, span * 1440))
        if when >= stop:
            continue
        device = rng.choice(devices)
        roll = rng.random()
        if roll < 0.55:
            _browse(w, device, user_id, favourites, by_category, when, 1)
        elif roll < 0.85:
            _email(w, user_id, when, rng)
        else:
            w.add(
                {
                    "type": "page",
                    "userId": user_id,
                    "anonymousId": device,
                    "name": rng.choice(["Home", "Sale", "Journal"]),
                },
                when,
            )
    for _ in range(orders):
        when = clock + timedelta(minutes=rng.randint(60, span * 1440))
        if when < stop:
            _order(w, user_id, favourites, by_category, when, persona)
    if rng.random() < 0.3:
        w.add(
            {
                "type": "track",
                "userId": user_id,
                "event": "Preferences Updated",
                "properties": {
                    "interests": favourites
                    + ([rng.choice(sorted(by_category))] if rng.random() < 0.5 else []),
                    "style": rng.choice(STYLES),
                    "budget": rng.choice([50, 100, 200, 400]),
                    "sizes": {"shoe": str(rng.randint(5, 13))},
                    "preferred_channel": rng.choice(["email", "email", "sms", "web"]),
                },
            },
            clock + timedelta(days=rng.randint(1, max(2, span))),
        )
    if rng.random() < 0.1:
        w.add(
            {
                "type": "track",
                "userId": user_id,
                "event": "Consent Updated",
                "properties": {"purpose": "email_marketing", "granted": False},
            },
            min(until - timedelta(minutes=5), clock + timedelta(days=rng.randint(1, max(2, span)))),
        )
    if rng.random() < 0.03:
        w.add(
            {
                "type": "track",
                "userId": user_id,
                "event": "Unsubscribed",
                "properties": {"channel": "email"},
            },
            min(until - timedelta(minutes=1), clock + timedelta(days=rng.randint(1, max(2, span)))),
        )


def _browse(
    w: _Writer,
    device: str,
    user_id: str | None,
    favourites: list[str],
    by_category: dict[str, list[dict[str, Any]]],
    at: datetime,
    views: int,
) -> None:
    rng = w.rng
    for step in range(views):
        category = (
            rng.choice(favourites) if rng.random() < 0.75 else rng.choice(sorted(by_category))
        )
        product = rng.choice(by_category[category])
        event: dict[str, Any] = {
            "type": "track",
            "anonymousId": device,
            "event": "Product Viewed",
            "properties": {
                "product_id": product["id"],
                "category": category,
                "brand": product["brand"],
                "price": product["price"],
                "name": product["name"],
            },
        }
        if user_id:
            event["userId"] = user_id
        w.add(event, at + timedelta(minutes=step * 3))
        if rng.random() < 0.15:
            added = dict(event, event="Product Added")
            w.add(added, at + timedelta(minutes=step * 3 + 1))


def _email(w: _Writer, user_id: str, at: datetime, rng: random.Random) -> None:
    campaign = f"newsletter-{at:%Y-%m-%d}"
    props = {"campaign_id": campaign, "email_subject": "New arrivals for the trail"}
    w.add({"type": "track", "userId": user_id, "event": "Email Delivered", "properties": props}, at)
    if rng.random() < 0.35:
        w.add(
            {"type": "track", "userId": user_id, "event": "Email Opened", "properties": props},
            at + timedelta(hours=rng.choice([1, 2, 3, 9, 12])),
        )
        if rng.random() < 0.3:
            w.add(
                {
                    "type": "track",
                    "userId": user_id,
                    "event": "Email Link Clicked",
                    "properties": props,
                },
                at + timedelta(hours=13),
            )


def _order(
    w: _Writer,
    user_id: str,
    favourites: list[str],
    by_category: dict[str, list[dict[str, Any]]],
    at: datetime,
    persona: str,
) -> None:
    rng = w.rng
    items = []
    for _ in range(rng.randint(1, 3)):
        category = rng.choice(favourites) if rng.random() < 0.8 else rng.choice(sorted(by_category))
        pool = by_category[category]
        if persona == "bargain":
            pool = sorted(pool, key=lambda p: p["price"])[: max(3, len(pool) // 3)]
        elif persona == "premium":
            pool = sorted(pool, key=lambda p: -p["price"])[: max(3, len(pool) // 3)]
        product = rng.choice(pool)
        items.append(
            {
                "product_id": product["id"],
                "name": product["name"],
                "category": category,
                "brand": product["brand"],
                "price": product["price"],
                "quantity": 1,
            }
        )
    order_id = f"ord-{w.counter + 1:08d}"
    total = round(sum(i["price"] for i in items), 2)
    w.add(
        {
            "type": "track",
            "userId": user_id,
            "event": "Order Completed",
            "properties": {
                "order_id": order_id,
                "revenue": total,
                "currency": "USD",
                "products": items,
            },
        },
        at,
    )
    if rng.random() < 0.03:
        w.add(
            {
                "type": "track",
                "userId": user_id,
                "event": "Order Completed",  # a client retry
                "properties": {
                    "order_id": order_id,
                    "revenue": total,
                    "currency": "USD",
                    "products": items,
                },
            },
            at + timedelta(seconds=2),
        )


def _visitor(
    w: _Writer, number: int, by_category: dict[str, list[dict[str, Any]]], until: datetime
) -> None:
    rng = w.rng
    device = f"visitor-{number + 1:05d}"
    at = until - timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 1440))
    w.add({"type": "page", "anonymousId": device, "name": "Home"}, at)
    _browse(w, device, None, rng.sample(sorted(by_category), 2), by_category, at, rng.randint(1, 6))


def write_jsonl(path: Path, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")
            count += 1
    return count
