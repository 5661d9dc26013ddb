"""The gate's rules that read the catalogue's names and categories (a product pitched for
another activity, a name cut into another product's, a stray opening word, "a new gear", an
order said to be recent), each on the failures the raters found and on good copy that must
pass: from the outdoor demo shop and from shops whose categories are goods, not activities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monogram import samples
from monogram.content.placements import get_placement
from monogram.core.settings import Settings
from monogram.quality.checks import CheckInput, Facts, kinds, wording
from monogram.quality.checks.task import TaskCheck
from monogram.workspace import Workspace, open_workspace

OUTDOOR = {p["name"]: p["category"] for p in samples.catalog()}
HOME = {
    "Copper Saute Pan": "cookware",
    "Oak Desk Lamp": "lighting",
    "Linen Duvet Cover": "bedding",
    "Merino 150 Tee \u2013 Long Sleeve": "clothing",
    "Osprey Talon 22 Daypack, Black": "bags",
    "Stanley Classic Trigger-Action Travel Mug 16 oz": "kitchen",
    "Lumen Lite Softshell Pant (Women's)": "clothing",
    "Pan": "cookware",
    "A": "cookware",
}
MIXED = {**HOME, "Trail Tent": "camping", "Camp Stove": "camping"}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    home: Path = tmp_path_factory.mktemp("rules") / "home"
    return open_workspace(Settings(home=home))


def item(
    ws: Workspace,
    text: str,
    names: dict[str, str] = OUTDOOR,
    *,
    element: str = "preheader",
    context: dict[str, Any] | None = None,
) -> CheckInput:
    spec = get_placement(ws.placements(), "email")
    generated = next(e for e in spec.generated() if e.name == element)
    facts = Facts(names=kinds.build_index(names), categories={c.lower() for c in names.values()})
    return CheckInput(text, generated, spec, ws.brand(), context or {}, facts)


def test_a_product_pitched_for_another_activity(ws: Workspace) -> None:
    for text in (
        "The Stride Pull Buoy and more yoga gear, picked for you.",
        "The Stride Lite Climbing Shoe, a great choice for swimming.",
        "The Stride Lite Climbing Shoe, made for your next swim!",
        "Alder and Ash Lite Swim Goggles and more cycling essentials, picked for you.",
    ):
        reasons = kinds.other_activity(item(ws, text))
        assert [r.message for r in reasons] == ["pitches the product for another activity"], text
    harness = {"product": {"name": "Kestrel Pro Harness", "category": "climbing"}}
    found = kinds.other_activity(item(ws, "A new harness and more cycling gear.", context=harness))
    assert found and found[0].span == "cycling" and found[0].start == 23
    for text in (
        "The Stride Pull Buoy and more swimming gear, picked for you.",
        "The Stride Pro Trail Shoe and more running, hiking and climbing gear.",
        "You came to the right place: the Northfold Yoga Mat.",  # "came" is no camping
        "The Northfold Pro Rain Jacket, ready for your next hike.",  # apparel suits them all
    ):
        assert kinds.other_activity(item(ws, text)) == [], text


def test_goods_categories_are_no_activities(ws: Workspace) -> None:
    for names in (HOME, MIXED):
        for text in (
            "Cook more with the Copper Saute Pan, made for home chefs.",
            "Expand your cooking: the Copper Saute Pan and more kitchen essentials.",
            "A great gift for your kitchen.",
            "The Oak Desk Lamp and more bedding essentials.",
            "The Copper Saute Pan and more camping essentials.",  # goods suit any activity
        ):
            assert kinds.other_activity(item(ws, text, names)) == [], text
    assert kinds.named(item(ws, "Expand your yoga practice.", HOME)) == []  # not "Pan"
    assert kinds.named(item(ws, "A pan, or two Pans.", HOME)) == [(1, 1, "cookware")] * 1 + [
        (4, 1, "cookware")
    ]  # whole words, a plural too, and no one-letter name
    tent = {"product": {"name": "Trail Tent, Green", "category": "camping"}}
    found = kinds.other_activity(item(ws, "A new tent and more yoga kit.", MIXED, context=tent))
    assert found == []  # yoga is no category of this shop
    assert (
        kinds.other_activity(item(ws, "A green hoodie and more camping gear.", MIXED, context=tent))
        == []
    )


def test_a_name_cut_into_another_product(ws: Workspace) -> None:
    for text, span in (
        ("The Ridgeline Pro Mat in merino wool, for your yoga.", "Ridgeline Pro Mat"),
        ("Two Tidewater Lite Mats for the studio.", "Tidewater Lite Mats"),
    ):
        found = kinds.cut_name(item(ws, text))
        assert found and found[0].span == span, text
    for text in (
        "The Ridgeline Pro Mat Towel in merino wool.",
        "Two Ridgeline Pro Mat Towels for the studio.",
        "Meet the Northfold Yoga Mat.",
        "The Summit Lab Pro range is back.",
        "İzmir calling: the Lumen Lite Softshell Pant is back.",
    ):
        assert kinds.cut_name(item(ws, text)) == [], text
    for text in (
        "Meet the Merino 150 Tee \u2013 Long Sleeve.",
        "Meet the Merino 150 Tee.",
        "Your Osprey Talon 22 Daypack, Black, is waiting.",
        "The Osprey Talon 22 is back.",
        "The Lumen Lite Softshell Pant (Women's) is back.",
        "The Stanley Classic Trigger-Action Travel Mug, for the road.",
    ):
        assert kinds.cut_name(item(ws, text, HOME)) == [], text


def test_wording_that_reads_the_catalogue(ws: Workspace) -> None:
    def reasons(text: str) -> list[str]:
        return [r.message for r in wording.check(item(ws, text))]

    assert "opens with a stray word" in reasons("Lemons, you're running")
    assert "opens with a stray word" in reasons("Cameling: new camping gear for you.")
    assert "'a' before a mass noun ('a new gear')" in reasons("A new cycling gear, for you.")
    assert "'a' before a mass noun ('a new gear')" in reasons("A top-quality hiking gear.")
    assert "'here's' before a plural" in reasons("Here\u2019s a few more picks for you.")
    assert "a sentence that says nothing" in reasons("Here are a few picks for the ones you love.")
    for good in (
        "Finally, the Northfold Yoga Mat is back.",
        "Yoga: new mats for your next practice.",
        "Welcome back: new camping gear for your next trip.",
        "Psst, new arrivals for your next run.",
        "Heads-up: new arrivals for your next run.",
        "Light, packable and warm: a jacket for every trail.",
        "Swimmers, your wetsuit is here.",
        "Take a look at our gear.",
        "Pack a tent and gear for two.",
        "A chance to gear up for spring.",
        "Shop a clothing store that knows the trail.",
        "Gifts for the ones you love.",
    ):
        assert reasons(good) == [], good


def test_an_order_said_to_be_recent(ws: Workspace) -> None:
    def stage(text: str, days: int | None, lifecycle: str = "active") -> list[str]:
        context: dict[str, Any] = {"lifecycle_stage": lifecycle, "computed": {}}
        if days is not None:
            context["computed"]["days_since_last_order"] = days
        found = TaskCheck()(item(ws, text, element="opening", context=context))
        return [r.message for r in found.reasons]

    claim = "speaks of a recent order the customer did not place"
    assert claim in stage("Thanks for running with us this month. New picks below.", 88)
    assert claim not in stage("Thanks for running with us this month. New picks below.", 20)
    assert claim in stage("Thanks for the order yesterday. New picks below.", 20)
    assert claim in stage("You just ordered the mat. New picks below.", None, "at_risk")
    assert claim in stage("The mat you ordered yesterday is on its way.", 9)
    assert claim not in stage("You just ordered the mat. New picks below.", None, "new")
    for text in (
        "New arrivals this week, just for you.",
        "Save on every lamp this month.",
        "Thanks for waiting. Your order ships this week.",
        "Shop with us this week and save.",
        "Thanks, new tents just landed.",
        "Thanks for reading; new tents landed this week.",
    ):
        assert claim not in stage(text, 45), text


def test_text_in_other_scripts_keeps_its_spans(ws: Workspace) -> None:
    """Lower case can change a letter's length ("İ"): spans are found on the text itself."""
    for text in ("İzmir, size M", "İİİ the Ridgeline Pro Mat in wool.", "Café Pané, fresh."):
        checked = TaskCheck()(item(ws, text, element="preheader"))
        for reason in checked.reasons:
            if reason.start >= 0 and reason.span:
                assert text[reason.start :].lower().startswith(reason.span.lower()), reason
    found = kinds.cut_name(item(ws, "İİİ the Ridgeline Pro Mat in wool."))
    assert found and found[0].span == "Ridgeline Pro Mat"
    assert kinds.named(item(ws, "Pané for two", HOME)) == []  # not "Pan"
