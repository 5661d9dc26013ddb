"""The task checks that judge whether copy does its job, one rule at a time: each failure the
raters found in the labelled set next to a text that does the same job right and passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monogram import evaluate, samples
from monogram.cdp import catalog
from monogram.core.settings import Settings
from monogram.workspace import Workspace, open_workspace

ORDER = "ord-00061541"


def product(name: str) -> dict[str, Any]:
    return next(p for p in samples.catalog() if p["name"] == name)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    home: Path = tmp_path_factory.mktemp("shop") / "home"
    ws = open_workspace(Settings(home=home))
    catalog.import_products(ws.store, enumerate(samples.catalog()))
    return ws


def verdict(
    ws: Workspace,
    text: str,
    placement: str,
    element: str,
    *,
    about: str = "Lumen Wetsuit",
    message: str | None = None,
    ordered: tuple[str, ...] = ("Kestrel Hiking Boot", "Alder & Ash Crash Pad"),
) -> tuple[bool, str]:
    item = product(about)
    context = {
        "lifecycle_stage": "active",
        "computed": {"favorite_categories": [item["category"]], "days_since_last_order": 20},
        "product": item,
        "order": {
            "order_id": ORDER,
            "products": [
                {"id": product(n)["id"], "name": n, "category": product(n)["category"]}
                for n in ordered
            ],
        },
        "input": {"message": message} if message else {},
    }
    record = {"placement": placement, "element": element, "text": text, "context": context}
    return evaluate.regate(ws, record)


def test_praise_no_data_supports_fails_plain_copy_passes(shop: Workspace) -> None:
    ok, why = verdict(
        shop, "The Lumen Wetsuit, a top-notch pick for swimming.", "ad", "ad_description"
    )
    assert not ok and "praise no data supports ('top-notch')" in why
    ok, why = verdict(
        shop, "The Lumen Wetsuit, a new favourite for swimming.", "ad", "ad_description"
    )
    assert not ok and "praise no data supports" in why
    for plain in (
        "The Lumen Wetsuit, ready for your next swim.",
        "Safe travels in the Lumen Wetsuit.",
    ):
        ok, why = verdict(shop, plain, "ad", "ad_description")
        assert ok, why


def test_gear_the_product_is_not(shop: Workspace) -> None:
    ok, why = verdict(shop, "Your new surfboard", "ad", "headline")
    assert not ok and "names a kind of product this customer's data does not" in why
    ok, why = verdict(shop, "Your new wetsuit", "ad", "headline")
    assert ok, why
    # Another word for the same kind is no swap.
    ok, why = verdict(
        shop, "Sneakers for muddy miles", "ad", "headline", about="Ridgeline Trail Shoe"
    )
    assert ok, why


def reply(ws: Workspace, text: str, message: str) -> tuple[bool, str]:
    return verdict(ws, text, "support_reply", "support_reply", message=message)


def test_reply_names_only_the_customers_order(shop: Workspace) -> None:
    message = f"Please cancel order {ORDER}, I ordered the wrong colour."
    right = "Thank you for letting us know. I have asked our team to cancel order {}."
    ok, why = reply(shop, right.format("ord-0061541"), message)
    assert not ok and "an order number that is not the customer's ('ord-0061541')" in why
    ok, why = reply(shop, right.format(ORDER), message)
    assert ok, why


def test_reply_asks_for_an_address_it_has_not_been_given(shop: Workspace) -> None:
    message = f"I need to change the delivery address for order {ORDER}, I have moved."
    acts = (
        "Thank you for your message. I have passed your new address for order "
        f"{ORDER} to our delivery team."
    )
    ok, why = reply(shop, acts, message)
    assert not ok and "acts on an address the customer has not given" in why
    asks = (
        "Thank you for letting us know. Please reply with your new address, and we will "
        f"update order {ORDER} before it ships."
    )
    ok, why = reply(shop, asks, message)
    assert ok, why
    ok, why = reply(shop, acts, message + " My new address is 12 Mill Lane, Leeds.")
    assert ok, why


def test_reply_exchanges_when_asked_for_a_bigger_size(shop: Workspace) -> None:
    message = (
        "The Kestrel Hiking Boot from my last order is too small. "
        "Can I exchange it for a bigger size?"
    )
    started = f"Thank you for your message. I have started a return for order {ORDER}."
    ok, why = reply(shop, started, message)
    assert not ok and "starts a return; the customer asked for an exchange" in why
    ok, why = reply(
        shop, started, f"How do I return the Kestrel Hiking Boot from order {ORDER}? It is unused."
    )
    assert ok, why


def test_reply_speaks_of_the_item_asked_about(shop: Workspace) -> None:
    message = "The shoes from my last order are too small. Can I exchange them for a bigger size?"
    other = (
        "Thank you for your message, and I am sorry the Alder & Ash Crash Pad is too small. "
        "Reply with the size you need for an exchange."
    )
    ok, why = reply(shop, other, message)
    assert (
        not ok
        and "speaks of another item than the one asked about ('Alder & Ash Crash Pad')" in why
    )
    same = other.replace("Alder & Ash Crash Pad", "Kestrel Hiking Boot")
    ok, why = reply(shop, same, message)
    assert ok, why


def test_wording_a_marketer_would_not_send(shop: Workspace) -> None:
    cases = {
        "A wetsuit for her next swim": "speaks of the customer in the third person",
        "Your wetsuit, your wetsuit": "says the same thing twice",
        "Your wetsuit, your apparel": "restates a data label instead of writing copy",
        "An adventure planned for you": "speaks of plans the data does not hold",
    }
    for text, reason in cases.items():
        ok, why = verdict(shop, text, "ad", "headline")
        assert not ok and reason in why, (text, why)
    ok, why = verdict(shop, "Your wetsuit, your swim", "ad", "headline")
    assert ok, why


def test_a_brand_written_nearly_right(shop: Workspace) -> None:
    for text in (
        "The Lumens Wetsuit, ready for your next swim.",
        "The Lemon Wetsuit, ready.",
    ):
        ok, why = verdict(shop, text, "ad", "ad_description")
        assert not ok and "a brand name written wrong" in why, (text, why)
    for good in (
        "Summer is the time for the Lumen Wetsuit.",
        "Strive for more with the Lumen Wetsuit.",
    ):
        ok, why = verdict(shop, good, "ad", "ad_description")
        assert ok, why


def test_reply_assumes_no_problem_the_customer_did_not_raise(shop: Workspace) -> None:
    message = "Do you have the Kestrel Hiking Boot from my last order in a bigger size?"
    assumes = (
        "Thank you for your message, and I am sorry the Kestrel Hiking Boot is too small. "
        "Please reply with the size you need."
    )
    ok, why = reply(shop, assumes, message)
    assert not ok and "answers a problem the customer did not raise (fit)" in why
    ok, why = reply(shop, assumes, "The Kestrel Hiking Boot from my last order is too small.")
    assert ok, why


def test_reply_wording_a_support_lead_would_strike(shop: Workspace) -> None:
    message = f"Hi, my order {ORDER} has not arrived yet. Can you tell me where it is?"
    good = (
        "Thank you for your message, and I am sorry your order has not arrived yet. I have "
        "asked our delivery team to check where it is, and we will email you an update."
    )
    ok, why = reply(shop, good, message)
    assert ok, why
    ok, why = reply(
        shop, good.replace("sorry your order has not arrived yet", "sorry for your loss"), message
    )
    assert not ok and "wording a support lead would strike ('sorry for your loss')" in why
    ok, why = reply(shop, good.replace("an update", "a return label"), message)
    assert not ok and "answers a problem the customer did not raise (label)" in why
