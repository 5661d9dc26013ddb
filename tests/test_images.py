"""Creatives: image elements laid out from gated text over a picture, checked, stored by
content, served at signed URLs, shown in email, previews and answers, and erased with the
person whose words they show. Pictures come from a real local HTTP server (catalogue images)
and a small server speaking the OpenAI images API."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml
from PIL import Image
from pydantic import ValidationError as PydanticValidationError

from monogram.cdp import catalog, privacy
from monogram.content.images import ImageStore, Rendition, TextBox
from monogram.content.llm.fake import FakeModel
from monogram.content.placements import Placement
from monogram.delivery import tracking
from monogram.delivery.compose import compose
from monogram.pipeline import draft_for
from monogram.quality.checks.image import check_creative
from monogram.workspace import Workspace
from tests.conftest import Api
from tests.test_generation import seed_customers


def picture_bytes(colour: tuple[int, int, int] = (180, 120, 60), size: int = 400) -> bytes:
    image = Image.new("RGB", (size, size), colour)
    for x in range(0, size, 20):  # some detail, so a picture is not one colour
        image.paste((colour[0] // 2, colour[1], 200), (x, x, x + 10, x + 10))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class Server:
    """A real HTTP server on localhost that answers with what ``routes`` says and counts hits."""

    def __init__(self, routes: dict[str, Callable[[bytes], tuple[int, str, bytes]]]) -> None:
        self.routes = routes
        self.hits: dict[str, int] = {}
        self.bodies: list[Any] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if body:
                    outer.bodies.append(json.loads(body))
                status, kind, data = outer.routes[self.path](body)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def shop(workspace: Workspace) -> Iterator[Workspace]:
    seed_customers(workspace)
    workspace.use_model(FakeModel())
    yield workspace


def set_product_image(ws: Workspace, image: str | None) -> str:
    """Every product gets ``image``; returns the id of the product the ad is about."""
    with ws.store.read() as conn:
        products = catalog.list_products(conn)
    catalog.import_products(
        ws.store, enumerate([{**p.model_dump(), "image": image} for p in products])
    )
    return products[0].id


def edit_placement(ws: Workspace, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = ws.home / "placements" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def creative_of(ws: Workspace, strategy: str = "bold", customer: str = "user_id:u1") -> Any:
    return draft_for(ws, customer, "ad", strategy=strategy, record=False).elements["creative"]


def decoded(ws: Workspace, name: str) -> Image.Image:
    return Image.open(io.BytesIO(ImageStore(ws.store).read(name)))


def test_image_elements_are_validated_with_clear_errors() -> None:
    base = {
        "name": "x",
        "channel": "ad",
        "purpose": "advertising",
        "strategies": [{"name": "s"}],
    }
    text = {"name": "headline", "instruction": "w", "fallbacks": [{"id": "a", "text": "b"}]}
    image = {
        "kind": "image",
        "name": "creative",
        "headline": "headline",
        "fallback": {"id": "f", "headline": "{{ brand }}", "alt": "x"},
    }
    Placement.model_validate({**base, "elements": [text, image]})
    with pytest.raises(PydanticValidationError, match="not a text element before it"):
        Placement.model_validate({**base, "elements": [image, text]})
    with pytest.raises(PydanticValidationError, match="is not WIDTHxHEIGHT"):
        Placement.model_validate({**base, "elements": [text, {**image, "sizes": ["big"]}]})
    with pytest.raises(PydanticValidationError, match="from 64 to 4096"):
        Placement.model_validate({**base, "elements": [text, {**image, "sizes": ["10x10"]}]})
    with pytest.raises(PydanticValidationError, match="needs a prompt"):
        Placement.model_validate(
            {**base, "elements": [text, {**image, "backend": "openai-images"}]}
        )
    both = {"id": "f", "headline": "x", "path": "a.png", "alt": "x"}
    with pytest.raises(PydanticValidationError, match="not both"):
        Placement.model_validate({**base, "elements": [text, {**image, "fallback": both}]})


def test_the_ad_creative_is_laid_out_from_gated_text_at_every_size(shop: Workspace) -> None:
    drafted = draft_for(shop, "user_id:u1", "ad", strategy="bold", record=False)
    creative = drafted.elements["creative"]
    assert creative.source == "composed"
    sizes = [(i["size"], decoded(shop, i["name"]).size) for i in creative.media["images"]]
    assert sizes == [("1200x628", (1200, 628)), ("1080x1080", (1080, 1080))]
    checks = {c["name"]: c["passed"] for c in creative.checks["checks"]}
    assert checks == {"image_text": True, "contrast": True, "fit": True, "logo": True,
                      "file_size": True}  # fmt: skip
    headline = drafted.elements["headline"].text  # generated and gated, or approved copy
    product = drafted.context["product"]
    assert creative.text.startswith(product["name"]) and headline.rstrip(".") in creative.text
    assert "laid out without a picture" in (creative.reason or "")  # the sample has none
    # Identical inputs: the same bytes, from the store, without rendering again.
    again = creative_of(shop)
    assert [i["name"] for i in again.media["images"]] == [
        i["name"] for i in creative.media["images"]
    ]
    assert all(i["cached"] for i in again.media["images"])


def test_the_creative_shows_only_gated_or_approved_text() -> None:
    words = [TextBox("headline", "Trail shoes for you", (0, 0, 10, 10), 20, "#FFFFFF")]
    shown = Rendition(600, 300, "a" * 64 + ".png", 1000, "png", "text", words, (0, 0, 5, 5), 20.0)
    assert all(r.passed for r in check_creative([shown], ["Trail shoes for you"], 10_000))
    failed = {r.name: r for r in check_creative([shown], ["Something else"], 500)}
    assert (
        not failed["image_text"].passed and "not gated" in failed["image_text"].reasons[0].message
    )
    assert not failed["file_size"].passed
    blank = Rendition(600, 300, "a" * 64 + ".png", 1000, "png", "text", words, (0, 0, 5, 5), 0.0)
    assert not {r.name: r for r in check_creative([blank], ["Trail shoes for you"], 9999)}[
        "logo"
    ].passed


def test_a_low_contrast_colourway_falls_back_to_the_approved_creative(shop: Workspace) -> None:
    kit = yaml.safe_load((shop.home / "brand.yaml").read_text())
    kit["visual"]["colourways"]["murky"] = {
        "background": "#777777",
        "text": "#8A8A8A",
        "accent": "#F2A541",
        "accent_text": "#1B1B1B",
    }
    (shop.home / "brand.yaml").write_text(yaml.safe_dump(kit))
    edit_placement(
        shop,
        "ad",
        lambda p: p["strategies"].append(
            {"name": "murky", "kind": "generative", "colourway": "murky"}
        ),
    )
    creative = creative_of(shop, "murky")
    assert creative.source == "fallback" and creative.variant_id == "creative_default"
    assert "image check contrast" in creative.reason and "under 4.5:1" in creative.reason
    assert creative.text == "New picks from Trailhead & Co."  # the approved alt text
    assert creative.media["colourway"] == "default"
    edit_placement(
        shop,
        "ad",
        lambda p: p["strategies"].append(
            {"name": "unknown", "kind": "generative", "colourway": "nope"}
        ),
    )
    with pytest.raises(Exception, match=r"no colourway 'nope'.*known: default, light, murky"):
        creative_of(shop, "unknown")


def test_text_that_cannot_fit_its_box_falls_back(shop: Workspace) -> None:
    def tiny(p: dict[str, Any]) -> None:
        for element in p["elements"]:
            if element["name"] == "creative":
                element["sizes"] = ["1200x64"]

    edit_placement(shop, "ad", tiny)
    creative = creative_of(shop)
    assert creative.source == "fallback" and "image check" in creative.reason


def test_catalogue_pictures_are_downloaded_once_and_bad_ones_are_left_out(
    shop: Workspace,
) -> None:
    good = picture_bytes()
    server = Server(
        {
            "/shoe.png": lambda _: (200, "image/png", good),
            "/page.html": lambda _: (200, "text/html", b"<html>not a picture</html>"),
            "/fake.png": lambda _: (200, "image/png", b"GIF89a this is not an image at all"),
            "/huge.png": lambda _: (200, "image/png", b"\x89PNG" + b"0" * 3_000_000),
        }
    )
    try:
        set_product_image(shop, f"{server.url}/shoe.png")
        first = creative_of(shop)
        assert first.source == "composed" and first.media["picture"] == "product"
        assert first.reason is None
        assert {i["layout"] for i in first.media["images"]} == {"split"}
        creative_of(shop, customer="user_id:u2")  # another customer, the same product
        assert server.hits["/shoe.png"] == 1  # downloaded once, then read from the cache
        shop.config.images.max_download_mb = 1
        for path, why in [
            ("/page.html", "text/html is not an image"),
            ("/fake.png", "not a readable image"),
            ("/huge.png", "over images.max_download_mb"),
            ("/missing.png", "answered"),
        ]:
            server.routes.setdefault(path, lambda _: (404, "text/plain", b"no"))
            set_product_image(shop, f"{server.url}{path}")
            creative = creative_of(shop)
            assert creative.source == "composed", path  # laid out without the picture
            assert creative.media["picture"] == "none"
            assert why in creative.reason, (path, creative.reason)
    finally:
        server.close()


def test_generated_pictures_come_from_an_openai_images_server(shop: Workspace) -> None:
    picture = base64.b64encode(picture_bytes((40, 90, 160))).decode()
    answers: dict[str, Any] = {"mode": "ok"}

    def generations(_body: bytes) -> tuple[int, str, bytes]:
        if answers["mode"] == "slow":
            time.sleep(1.5)
        if answers["mode"] == "error":
            return 500, "application/json", b'{"error": "out of memory"}'
        return 200, "application/json", json.dumps({"data": [{"b64_json": picture}]}).encode()

    server = Server({"/v1/images/generations": generations})
    try:
        shop.config.images.base_url = f"{server.url}/v1"
        shop.config.images.model = "sd-turbo"
        shop.config.images.timeout_s = 0.5

        def generated(p: dict[str, Any]) -> None:
            for element in p["elements"]:
                if element["name"] == "creative":
                    element["backend"] = "openai-images"
                    element["prompt"] = "A photograph of the {{ product.name }} on a trail"

        edit_placement(shop, "ad", generated)
        creative = creative_of(shop)
        assert creative.source == "composed" and creative.media["picture"] == "generated"
        assert creative.review and "image model" in creative.review_reasons[0]
        asked = server.bodies[-1]
        assert asked["model"] == "sd-turbo" and asked["response_format"] == "b64_json"
        product = draft_for(shop, "user_id:u1", "ad", strategy="bold", record=False).context[
            "product"
        ]
        assert product["name"] in asked["prompt"] and "Avoid: text, letters" in asked["prompt"]
        assert server.hits["/v1/images/generations"] == 1  # the same prompt: the cached picture
        from monogram.web.console.operations import queue

        draft_for(shop, "user_id:u1", "ad", strategy="bold")  # recorded: held for a person
        held = [item for item in queue(shop) if item["element"] == "creative"]
        assert len(held) == 1 and [i["size"] for i in held[0]["images"]] == [
            "1200x628",
            "1080x1080",
        ]
        assert held[0]["images"][0]["url"].startswith("/i/")
        for mode, why in [("error", "answered 500"), ("slow", "timed out")]:
            answers["mode"] = mode
            edit_placement(
                shop,
                "ad",
                lambda p, m=mode: [
                    e.update(prompt=f"A {m} photograph of {{{{ product.name }}}}")
                    for e in p["elements"]
                    if e["name"] == "creative"
                ],
            )
            fallen = creative_of(shop)
            assert fallen.source == "fallback" and why in fallen.reason, fallen.reason
    finally:
        server.close()


def test_creatives_are_served_at_signed_cacheable_urls(shop: Workspace) -> None:
    api = Api(shop)
    with api.client:
        answer = api.client.post(
            "/v1/personalize",
            json={"userId": "u1", "placement": "ad"},
            auth=(api.read, ""),
        )
        assert answer.status_code == 200, answer.text
        served = answer.json()["elements"]["creative"]
        assert [i["size"] for i in served["images"]] == ["1200x628", "1080x1080"]
        url = served["images"][0]["url"]
        path = url.split("://", 1)[1].split("/", 1)[1]
        image = api.client.get("/" + path)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert "immutable" in image.headers["cache-control"]
        assert Image.open(io.BytesIO(image.content)).size == (1200, 628)
        name = path.split("/")[1].split("?")[0]
        assert api.client.get(f"/i/{name}?s=forged").status_code == 404
        assert api.client.get(f"/i/{name}").status_code == 404
        unknown = "b" * 64 + ".png"
        signed = tracking.image_url(shop.secret(), "", unknown)
        assert api.client.get(signed).status_code == 404
        # An unknown visitor gets the approved creative, served the same way.
        stranger = api.client.post(
            "/v1/personalize",
            json={"userId": "nobody-we-know", "placement": "ad"},
            auth=(api.read, ""),
        ).json()
        approved = stranger["elements"]["creative"]
        assert (
            approved["source"] == "fallback"
            and approved["text"] == "New picks from Trailhead & Co."
        )
        path = approved["images"][1]["url"].split("://", 1)[1].split("/", 1)[1]
        served_image = api.client.get("/" + path)
        assert Image.open(io.BytesIO(served_image.content)).size == (1080, 1080)


def test_an_email_shows_its_creative_with_alt_text(shop: Workspace) -> None:
    drafted = draft_for(shop, "user_id:u1", "ad", strategy="bold", record=False)
    message = {**drafted.as_dict(), "message_id": "m1"}
    links = {"open": "https://t.example/o", "unsubscribe": "https://t.example/u"}
    outbound = compose(
        message,
        "ana@example.com",
        "email",
        None,
        links,
        lambda url: url,
        image_url=lambda name: f"https://img.example/i/{name}",
    )
    creative = drafted.elements["creative"]
    first = creative.media["images"][0]["name"]
    assert f'src="https://img.example/i/{first}"' in outbound.html
    assert 'alt="' in outbound.html and f"[image: {creative.text}]" in outbound.text


def test_erasure_removes_the_creatives_only_that_person_shows(shop: Workspace) -> None:
    def named(p: dict[str, Any]) -> None:  # a creative that shows the customer's own words
        p["purpose"] = "email_marketing"
        p["elements"].insert(
            0,
            {
                "name": "greeting",
                "kind": "locked",
                "template": "Hello {{ first_name | default('there') }}",
            },
        )
        for element in p["elements"]:
            if element["name"] == "creative":
                element["headline"] = "greeting"

    edit_placement(shop, "ad", named)
    mine = draft_for(shop, "user_id:u1", "ad", strategy="select").elements["creative"]
    theirs = draft_for(shop, "user_id:u2", "ad", strategy="select").elements["creative"]
    mine_names = {i["name"] for i in mine.media["images"]}
    assert mine_names.isdisjoint({i["name"] for i in theirs.media["images"]})
    privacy.erase(shop.store, "user_id:u1")
    store = ImageStore(shop.store)
    for name in mine_names:
        with pytest.raises(Exception, match="no creative"):
            store.read(name)
    for image in theirs.media["images"]:
        assert store.read(image["name"])  # another customer's creative stays


def test_campaign_results_break_down_by_creative(shop: Workspace) -> None:
    from monogram.pipeline import Request, personalize
    from monogram.web.console.operations import campaign_results

    for customer, strategy in (("user_id:u1", "bold"), ("user_id:u2", "bold_light")):
        personalize(
            shop, Request(customer=customer, placement="ad", strategy=strategy, campaign="c1")
        )
    found = campaign_results(shop, "c1")["by_creative"]
    assert {k: v["decisions"] for k, v in found.items()} == {
        "text layout, default colours, picture: none": 1,
        "approved fallback (creative_default)": 1,  # u2 never consented to advertising
    }


def test_placements_check_names_creatives_that_would_always_fall_back(shop: Workspace) -> None:
    from monogram.content.images import image_warnings

    assert image_warnings(shop.brand(), shop.placements()["ad"], shop.home) == []
    kit = yaml.safe_load((shop.home / "brand.yaml").read_text())
    kit["visual"]["colourways"]["murky"] = {"background": "#777777", "text": "#8A8A8A"}
    (shop.home / "brand.yaml").write_text(yaml.safe_dump(kit))

    def broken(p: dict[str, Any]) -> None:
        p["strategies"].append({"name": "odd", "kind": "generative", "colourway": "nope"})
        for element in p["elements"]:
            if element["name"] == "creative":
                element["fallback"] = {"id": "f", "path": "approved/missing.png", "alt": "x"}
                element["backend"] = "dall-e-9"
                element["prompt"] = "a photo"

    edit_placement(shop, "ad", broken)
    warnings = "\n".join(image_warnings(shop.brand(), shop.placements()["ad"], shop.home))
    assert "colourway 'nope', not in brand.yaml visual" in warnings
    assert "colourway 'murky': text on background is 1.30:1" in warnings
    assert "fallback image approved/missing.png is not a file" in warnings
    assert "image backend 'dall-e-9' is not registered (compose, openai-images" in warnings
