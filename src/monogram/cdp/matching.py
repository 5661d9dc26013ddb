"""Probabilistic identity resolution: the same person held as several profiles, found with
Splink (Fellegi-Sunter, parameters estimated by EM on the workspace's own data, DuckDB
in-process).

Exact identifiers (user id, email, phone, anonymous ids) merge profiles as events arrive; this
finds what they miss: a guest checkout with a typo in the email, a sign-up under a nickname, a
phone number written another way, an old address. Each profile becomes one record of names,
email, phone, address and date of birth (normalised here); candidate pairs come from blocking
rules, are scored by comparisons of each field, and clustered.

What happens to a scored pair is decided by ``identity_resolve`` (a later module): this one
only reads profiles and scores.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from monogram.cdp.identity import normalise_email, normalise_phone
from monogram.core.errors import ValidationError

# The fields a record is matched on, normalised, as Splink sees them.
COLUMNS = (
    "unique_id",
    "first_name",
    "first_forms",
    "last_name",
    "email",
    "email_user",
    "phone",
    "street",
    "postcode",
    "city",
    "dob",
)
MATCH_FIELDS = ("first_name", "last_name", "email", "phone", "street", "postcode", "dob")
STREET_WORDS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "boulevard": "blvd",
    "place": "pl",
    "suite": "ste",
    "apartment": "apt",
}
TRAIT_NAMES = {
    "first_name": ("first_name", "firstName", "given_name"),
    "last_name": ("last_name", "lastName", "surname", "family_name"),
    "street": ("street", "address_line1", "address1"),
    "postcode": ("postcode", "postal_code", "postalCode", "zip", "zip_code"),
    "city": ("city", "town"),
    "dob": ("dob", "birthday", "date_of_birth", "birth_date"),
}
DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")


@dataclass
class Record:
    """One profile as the matcher reads it."""

    unique_id: str
    fields: dict[str, Any] = field(default_factory=dict)


def fold(text: Any) -> str | None:
    """Lower case, accents and punctuation removed, spaces collapsed; None when empty."""
    if text is None:
        return None
    value = unicodedata.normalize("NFKD", str(text))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    value = re.sub(r"[^a-z0-9@.+ ]+", " ", value)
    value = " ".join(value.split())
    return value or None


def name_forms(first: str | None) -> list[str]:
    """The first name and the formal names it is a nickname of (bob -> robert, bobby, ...)."""
    if not first:
        return []
    forms = {first}
    forms |= _nicknamer().canonicals_of(first) or set()
    return sorted(forms)


@functools.lru_cache(maxsize=1)
def _nicknamer() -> Any:
    """The hand-curated English nickname table, shipped in its wheel (loaded once)."""
    from nicknames import NickNamer

    return NickNamer()


def normalised(raw: dict[str, Any], phone_region: str = "US") -> dict[str, Any]:
    """A record's fields as the comparisons read them (None where unknown)."""
    first = fold(_first(raw, "first_name"))
    last = fold(_first(raw, "last_name"))
    if first is None and last is None and raw.get("name"):
        parts = str(raw["name"]).split()
        first, last = fold(parts[0]), fold(" ".join(parts[1:])) if len(parts) > 1 else None
    email = normalise_email(raw.get("email")) if raw.get("email") else None
    phone = normalise_phone(raw.get("phone"), phone_region) if raw.get("phone") else None
    street = fold(_first(raw, "street"))
    if street:
        street = " ".join(STREET_WORDS.get(w, w) for w in street.replace(".", "").split())
    postcode = fold(_first(raw, "postcode"))
    dob = _date(_first(raw, "dob"))
    return {
        "first_name": first,
        "first_forms": name_forms(first.split()[0]) if first else [],
        "last_name": last,
        "email": email,
        "email_user": email.split("@")[0].replace(".", "") if email else None,
        "phone": phone,
        "street": street,
        "postcode": postcode.replace(" ", "")[:5] if postcode else None,
        "city": fold(_first(raw, "city")),
        "dob": dob,
    }


def _first(raw: dict[str, Any], name: str) -> Any:
    for key in TRAIT_NAMES.get(name, (name,)):
        value = raw.get(key)
        if value not in (None, ""):
            return value
    address = raw.get("address")
    if isinstance(address, dict) and name in ("street", "postcode", "city"):
        for key in TRAIT_NAMES[name]:
            if address.get(key) not in (None, ""):
                return address[key]
    return None


def _date(value: Any) -> str | None:
    found = DATE.match(str(value or "").strip())
    if not found:
        return None
    year, month, day = (int(part) for part in found.groups())
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def table(records: Iterable[Record]) -> pa.Table:
    """Records as the Arrow table Splink reads (DuckDB registers it without a copy)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for record in records:
        columns["unique_id"].append(record.unique_id)
        for name in COLUMNS[1:]:
            columns[name].append(record.fields.get(name))
    schema = pa.schema(
        [
            (name, pa.list_(pa.string()) if name == "first_forms" else pa.string())
            for name in COLUMNS
        ]
    )
    return pa.table(columns, schema=schema)


def usable(data: pa.Table) -> list[str]:
    """The match fields that hold values in at least 1% of records."""
    rows = max(1, data.num_rows)
    return [name for name in MATCH_FIELDS if (rows - data.column(name).null_count) / rows >= 0.01]


def require_fields(data: pa.Table) -> None:
    """Training needs something to compare: refuse, saying what is missing, when it is not."""
    have = usable(data)
    if data.num_rows < 2:
        raise ValidationError(
            f"identity matching needs at least 2 profiles; the workspace has {data.num_rows}"
        )
    names = {"first_name", "last_name"} & set(have)
    contact = {"email", "phone", "street", "postcode", "dob"} & set(have)
    if not names or not contact:
        raise ValidationError(
            "identity matching needs names (first_name or last_name traits) and at least one "
            "of email, phone, address or date of birth on the profiles; found only: "
            + (", ".join(have) or "nothing usable")
        )


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
