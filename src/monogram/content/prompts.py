"""Prompt assembly: sandboxed templates, customer data as fenced data, only declared fields.

* Templates run in Jinja's ``SandboxedEnvironment`` with ``StrictUndefined``: no attribute
  tricks, and a misspelt variable is an error, not an empty string.
* The system prompt (brand kit) and the few-shot exemplars come first and never vary between
  customers, so a local model reuses their KV cache; customer data comes last.
* Customer data enters only inside a ``<<<DATA ... DATA>>>`` fence, as data. Every value is
  cleaned: control and invisible characters stripped, whitespace collapsed, fence markers
  neutralised, length capped; free text (what customers typed) is quoted.
* Only the context fields an element declares reach its prompt, and the list is recorded.
* Templates are versioned by the hash of their text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import orjson
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from monogram.content.brand import BrandKit
from monogram.content.placements import GeneratedElement, Placement, Strategy
from monogram.core.errors import ConfigError

MAX_VALUE_CHARS = 200
MAX_FREE_TEXT_CHARS = 600
FREE_TEXT_FIELDS = {"input.message", "zero_party.notes", "zero_party.comment"}
LENGTH_HINTS = {
    "short": "Keep it very short.",
    "medium": "",
    "long": "Use the full length allowed.",
}
_SPACES = re.compile(r"\s+")

_env = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


def clean_text(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Text safe to place in a prompt: no control or invisible characters, no fence markers."""
    kept = []
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Co", "Cs") and char not in "\n\t":
            continue  # control, format (zero-width, bidi overrides), private use
        kept.append(char)
    text = _SPACES.sub(" ", "".join(kept)).strip()
    text = text.replace("<<<", "\u2039" * 3).replace(">>>", "\u203a" * 3)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def template_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render(template: str, variables: dict[str, Any], *, origin: str) -> str:
    """Render a sandboxed template; ConfigError names the template and the problem."""
    try:
        return _env.from_string(template).render(**variables)
    except TemplateError as exc:
        raise ConfigError(f"{origin}: template error: {exc}") from exc


def pick(source: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``computed.favorite_categories``), or None."""
    value: Any = source
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def select_fields(source: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Only the declared fields, cleaned; missing ones are left out."""
    out: dict[str, Any] = {}
    for path in fields:
        value = pick(source, path)
        if value is None or value == [] or value == {}:
            continue
        limit = MAX_FREE_TEXT_CHARS if path in FREE_TEXT_FIELDS else MAX_VALUE_CHARS
        out[path] = _clean_value(value, limit)
    return out


def _clean_value(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, list):
        return [_clean_value(v, limit) for v in value[:8]]
    if isinstance(value, dict):
        return {clean_text(str(k), 60): _clean_value(v, limit) for k, v in list(value.items())[:12]}
    return value


def fence(data: dict[str, Any]) -> str:
    """Customer data as a fenced block; free text is quoted so it reads as a quotation."""
    lines = ["<<<DATA"]
    for path, value in data.items():
        label = path.rsplit(".", 1)[-1].replace("_", " ")
        if path in FREE_TEXT_FIELDS:
            lines.append(
                f"{label} (what the customer wrote, quoted): {orjson.dumps(value).decode()}"
            )
        else:
            lines.append(f"{label}: {_plain(value)}")
    lines.append("DATA>>>")
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value[:5])
    if isinstance(value, dict) and "name" in value:
        # A product or an order line: the facts a model may repeat, in a compact form.
        facts = [str(value["name"])]
        if isinstance(value.get("price"), int | float):
            facts.append(f"{value.get('currency', 'USD')} {value['price']:.2f}")
        if value.get("category"):
            facts.append(str(value["category"]))
        return " (".join([facts[0], ", ".join(facts[1:]) + ")"]) if len(facts) > 1 else facts[0]
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


@dataclass
class Prompt:
    messages: list[dict[str, str]]
    fields: list[str]
    template_hash: str
    prompt_hash: str
    data: dict[str, Any] = field(default_factory=dict)


def build_prompt(
    brand: BrandKit,
    placement: Placement,
    element: GeneratedElement,
    strategy: Strategy,
    source: dict[str, Any],
) -> Prompt:
    """Messages for one element: fixed prefix (system, exemplars), then the request and data."""
    data = select_fields(source, element.fields)
    variables = {path.replace(".", "_"): value for path, value in data.items()}
    variables.update(brand=brand.name, channel=placement.channel)
    instruction = render(
        element.instruction, variables, origin=f"placement {placement.name}, element {element.name}"
    )
    request = [clean_text(instruction, 400)]
    if element.max_chars:
        request.append(f"At most {element.max_chars} characters.")
    if element.max_words:
        request.append(f"At most {element.max_words} words.")
    if strategy.tone:
        request.append(f"Tone: {strategy.tone}.")
    if strategy.emphasis:
        request.append(f"Emphasise {strategy.emphasis}.")
    if strategy.length and LENGTH_HINTS[strategy.length]:
        request.append(LENGTH_HINTS[strategy.length])
    messages = [{"role": "system", "content": brand.system_prompt()}]
    for example in brand.exemplars.get(element.exemplars or element.name, [])[:3]:
        messages.append({"role": "user", "content": f"Write the {element.name.replace('_', ' ')}."})
        messages.append({"role": "assistant", "content": example})
    messages.append({"role": "user", "content": " ".join(request) + "\n" + fence(data)})
    digest = hashlib.sha256(orjson.dumps(messages)).hexdigest()[:16]
    return Prompt(
        messages=messages,
        fields=list(data),
        template_hash=template_hash(element.instruction),
        prompt_hash=digest,
        data=data,
    )


def render_locked(template: str, source: dict[str, Any], *, origin: str) -> str:
    """Fill an approved template (locked element or fallback) with cleaned profile values."""
    profile = source.get("profile") or {}
    variables = {
        "first_name": clean_text(profile["first_name"], 40) if profile.get("first_name") else None,
        "brand": source.get("brand"),
        "product": source.get("product"),
        "unsubscribe_url": source.get("unsubscribe_url", "{{unsubscribe_url}}"),
    }
    return render(
        template, {k: v for k, v in variables.items() if v is not None}, origin=origin
    ).strip()
