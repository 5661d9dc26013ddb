"""Preference data to refine the model: pairs of a better and a worse answer to the same prompt.

Three sources, each a judgement someone or something made on this workspace's own messages:

* ``review_edit``: a person edited a draft before approving it (chosen: the edit, rejected:
  the draft);
* ``review_reject``: a person rejected a draft (chosen: the approved copy that went out);
* ``gate``: the quality gate turned a candidate down (chosen: the candidate it passed, or the
  approved copy when it passed none; rejected: the one it turned down).

The prompt is rebuilt from what the message stored (the data block the model was given, the
placement, the strategy and its prompt variant), in the chat format TRL's DPO and ORPO trainers
read: ``{"prompt": [messages], "chosen": [assistant], "rejected": [assistant]}``. Only customers
who consent to the export's purpose (default ``ai_generation``) are exported; the
customer's name, email addresses and phone numbers are replaced by placeholders. Outcome
comparisons are not a source: two customers never share a prompt, so their outcomes do not
make a pair.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, select

from monogram.content.brand import BrandKit
from monogram.content.placements import Placement
from monogram.content.prompts import prompt_from_data
from monogram.core.errors import ValidationError
from monogram.quality.checks.pii import EMAIL
from monogram.store.tables import messages, reviews
from monogram.store.tables import profiles as profiles_table

SOURCES = ("review_edit", "review_reject", "gate")
PHONE = re.compile(r"\+?\d[\d ().-]{7,}\d")


@dataclass
class ExportReport:
    path: str
    pairs: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # why a judgement was left out

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "pairs": self.pairs,
            "by_source": dict(self.by_source),
            "skipped": dict(self.skipped),
        }


def export(
    conn: Connection,
    brand: BrandKit,
    placements: dict[str, Placement],
    path: Path,
    *,
    consent: str = "ai_generation",
    sources: tuple[str, ...] = SOURCES,
    placement: str | None = None,
) -> ExportReport:
    """Write the preference pairs to ``path`` (JSONL, owner-only, whole or not at all). With
    nothing to export it writes nothing and says why."""
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise ValidationError(f"unknown sources {unknown}; known: {', '.join(SOURCES)}")
    report = ExportReport(str(path))
    rows = list(_pairs(conn, brand, placements, consent, sources, placement, report))
    if not rows:
        reasons = ", ".join(f"{n} {why}" for why, n in report.skipped.items()) or "none"
        raise ValidationError(
            "no preference pairs to export: no reviewed edits or rejections and no candidates "
            f"the gate turned down for consenting customers (left out: {reasons})"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".preferences-")
    try:
        with os.fdopen(handle, "wb") as out:
            for row in rows:
                out.write(orjson.dumps(row) + b"\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    report.pairs = len(rows)
    report.by_source.update(row["source"] for row in rows)
    return report


def _pairs(
    conn: Connection,
    brand: BrandKit,
    placements: dict[str, Placement],
    consent: str,
    sources: tuple[str, ...],
    only: str | None,
    report: ExportReport,
) -> Iterator[dict[str, Any]]:
    consenting = profiles_table.c.consented.like(f"%|{consent}|%")
    query = (
        select(
            messages.c.id,
            messages.c.placement,
            messages.c.strategy,
            messages.c.elements,
            messages.c.profile_id,
            profiles_table.c.traits,
        )
        .join(profiles_table, profiles_table.c.profile_id == messages.c.profile_id)
        .where(consenting)
        .order_by(messages.c.created_at, messages.c.id)
    )
    if only:
        query = query.where(messages.c.placement == only)
    decided = _reviews(conn) if {"review_edit", "review_reject"} & set(sources) else {}
    for row in conn.execute(query):
        spec = placements.get(row.placement)
        if spec is None:
            report.skipped["placement no longer defined"] += 1
            continue
        elements = orjson.loads(row.elements)
        for name, stored in elements.items():
            element = next((e for e in spec.generated() if e.name == name), None)
            if element is None or not stored.get("prompt_data"):
                continue
            judgements = list(_judgements(stored, decided.get((row.id, name)), sources))
            if not judgements:
                continue
            try:
                strategy = spec.strategy(row.strategy)
            except Exception:
                report.skipped["strategy no longer defined"] += 1
                continue
            prompt = prompt_from_data(brand, spec, element, strategy, stored["prompt_data"])
            if prompt.template_hash != stored.get("template_hash"):
                report.skipped["prompt template changed since"] += 1
                continue
            names = _names(stored["prompt_data"], row.traits)
            for source, chosen, rejected in judgements:
                yield {
                    "prompt": [_scrubbed_message(m, names) for m in prompt.messages],
                    "chosen": [{"role": "assistant", "content": scrub(chosen, names)}],
                    "rejected": [{"role": "assistant", "content": scrub(rejected, names)}],
                    "source": source,
                    "placement": row.placement,
                    "element": name,
                    "strategy": row.strategy,
                    "prompt_variant": stored.get("prompt_variant"),
                    "message_id": row.id,
                }


def _reviews(conn: Connection) -> dict[tuple[str, str], Any]:
    query = select(reviews).where(reviews.c.status.in_(("edited", "rejected")))
    return {(r.message_id, r.element): r for r in conn.execute(query)}


def _judgements(
    stored: dict[str, Any], review: Any, sources: tuple[str, ...]
) -> Iterator[tuple[str, str, str]]:
    text = stored.get("text") or ""
    if review is not None:
        edited = review.edited and review.edited.strip() != review.original.strip()
        if review.status == "edited" and "review_edit" in sources and edited:
            yield "review_edit", review.edited, review.original
        replaced = text and text.strip() != review.original.strip()
        if review.status == "rejected" and "review_reject" in sources and replaced:
            yield "review_reject", text, review.original  # the approved copy went out
    if "gate" not in sources:
        return
    if stored.get("source") == "generated":
        for candidate, reason in zip(
            stored.get("candidates") or [], stored.get("candidate_reasons") or [], strict=False
        ):
            if reason and candidate and candidate.strip() != text.strip():
                yield "gate", text, candidate
    elif stored.get("source") == "fallback" and stored.get("attempt"):
        yield "gate", text, stored["attempt"]


def _names(data: dict[str, Any], traits: Any) -> list[str]:
    """The customer's own names, as the data block and the profile hold them."""
    found = [data.get("profile.first_name")]
    if isinstance(traits, dict):
        found += [traits.get(k) for k in ("first_name", "last_name", "name")]
    words = {w for value in found if isinstance(value, str) for w in value.split()}
    return sorted((w for w in words if len(w) >= 2), key=len, reverse=True)


def scrub(text: str, names: list[str]) -> str:
    """The customer's name, email addresses and phone numbers as placeholders."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub("[phone]", text)
    for name in names:
        text = re.sub(rf"\b{re.escape(name)}\b", "[first name]", text)
    return text


def _scrubbed_message(message: dict[str, str], names: list[str]) -> dict[str, str]:
    return {"role": message["role"], "content": scrub(message["content"], names)}
