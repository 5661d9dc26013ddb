"""Synthetic customer records with known truth, for probabilistic identity resolution.

Each person gets one to four records, as CRMs and shops hold them: a store account, a guest
checkout with a typo in the email, a newsletter sign-up under a nickname, a phone number written
another way, an old address after a move, fields left empty. Some people share a family email
with a relative at the same address (a hard case: same email, a different person), and common
names recur among strangers. ``person`` is the truth; it is never imported.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from faker import Faker

NICKNAMES = {
    "robert": ["bob", "rob", "bobby"],
    "william": ["bill", "will", "billy"],
    "elizabeth": ["liz", "beth", "lizzie"],
    "katherine": ["kate", "kathy", "katie"],
    "michael": ["mike", "mikey"],
    "jennifer": ["jen", "jenny"],
    "richard": ["rick", "dick", "rich"],
    "margaret": ["maggie", "peggy", "meg"],
    "james": ["jim", "jimmy", "jamie"],
    "patricia": ["pat", "patty", "trish"],
    "thomas": ["tom", "tommy"],
    "christopher": ["chris", "topher"],
    "daniel": ["dan", "danny"],
    "susan": ["sue", "susie"],
    "joseph": ["joe", "joey"],
    "anthony": ["tony"],
    "alexander": ["alex", "sandy"],
    "samantha": ["sam", "sammy"],
}
# Real US area codes, so every number is one phone libraries accept.
AREA_CODES = [
    212,
    213,
    214,
    206,
    303,
    305,
    312,
    404,
    415,
    469,
    503,
    512,
    602,
    617,
    646,
    702,
    713,
    718,
    720,
    773,
    786,
    805,
    813,
    818,
    858,
    904,
    917,
    919,
    925,
    949,
]
FIELDS = [
    "record_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street",
    "city",
    "postcode",
    "dob",
]


@dataclass
class Records:
    rows: list[dict[str, Any]]  # each with FIELDS and "person" (the truth)

    def pairs(self) -> set[tuple[str, str]]:
        """Every pair of record ids that belong to one person (ids sorted within a pair)."""
        by_person: dict[str, list[str]] = {}
        for row in self.rows:
            by_person.setdefault(row["person"], []).append(row["record_id"])
        out: set[tuple[str, str]] = set()
        for ids in by_person.values():
            ids.sort()
            out |= {(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]}
        return out


def customer_records(people: int, seed: int = 11) -> Records:
    """Records for ``people`` people (about 1.9 records each), shuffled."""
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rows: list[dict[str, Any]] = []
    counter = 0
    for index in range(people):
        person = _person(fake, rng, index)
        copies = rng.choices([1, 2, 3, 4], weights=[35, 40, 18, 7])[0]
        for copy in range(copies):
            counter += 1
            row = dict(person) if copy == 0 else _variant(person, rng, fake)
            row["record_id"] = f"r{counter:07d}"
            row["person"] = f"p{index:07d}"
            rows.append(row)
        if rng.random() < 0.04:  # a relative at the same address, sharing the family email
            counter += 1
            relative = _person(fake, rng, index)
            relative.update(
                last_name=person["last_name"],
                street=person["street"],
                city=person["city"],
                postcode=person["postcode"],
                email=person["email"],
                record_id=f"r{counter:07d}",
                person=f"p{index:07d}-relative",
            )
            rows.append(relative)
    rng.shuffle(rows)
    return Records(rows)


def _person(fake: Faker, rng: random.Random, index: int) -> dict[str, Any]:
    first = rng.choice(list(NICKNAMES)).title() if rng.random() < 0.25 else fake.first_name()
    last = fake.last_name()
    domain = rng.choice(["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "example.net"])
    local = rng.choice(
        [
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{last}.{first}",
        ]
    ).lower()
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{local}@{domain}",
        "phone": f"+1{rng.choice(AREA_CODES)}{rng.randint(200, 989)}{rng.randint(1000, 9999)}",
        "street": fake.street_address(),
        "city": fake.city(),
        "postcode": fake.postcode(),
        "dob": fake.date_of_birth(minimum_age=18, maximum_age=85).isoformat(),
    }


def _variant(person: dict[str, Any], rng: random.Random, fake: Faker) -> dict[str, Any]:
    """Another record of the same person, changed the ways real records differ."""
    row = dict(person)
    changes = rng.sample(
        ["email_typo", "nickname", "phone_format", "moved", "missing", "name_typo", "new_email"],
        k=rng.choice([1, 1, 2, 2, 3]),
    )
    for change in changes:
        if change == "email_typo" and "@" in row["email"]:
            local, domain = row["email"].split("@")
            row["email"] = f"{_typo(local, rng)}@{domain}"
        elif change == "nickname" and row["first_name"].lower() in NICKNAMES:
            row["first_name"] = rng.choice(NICKNAMES[row["first_name"].lower()]).title()
        elif change == "phone_format" and row["phone"].startswith("+1"):
            digits = row["phone"][2:]
            row["phone"] = rng.choice(
                [
                    f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
                    f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
                    digits,
                ]
            )
        elif change == "moved":
            row["street"], row["postcode"] = fake.street_address(), fake.postcode()
            if rng.random() < 0.5:
                row["city"] = fake.city()
        elif change == "missing":
            for key in rng.sample(["email", "phone", "dob", "street", "postcode"], k=2):
                row[key] = ""
        elif change == "name_typo":
            row["last_name"] = _typo(row["last_name"], rng).title()
        elif change == "new_email":
            domain = rng.choice(["gmail.com", "yahoo.com", "proton.me"])
            row["email"] = (
                f"{row['first_name'][0]}{row['last_name']}{rng.randint(1, 999)}@{domain}".lower()
            )
    return row


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 3:
        return text + "x"
    at = rng.randrange(1, len(text) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    if kind == "drop":
        return text[:at] + text[at + 1 :]
    if kind == "double":
        return text[:at] + text[at] + text[at:]
    return text[:at] + rng.choice("aeiourstnl") + text[at + 1 :]


def write_csv(records: Records, path: Any, *, truth: bool = False) -> int:
    """The records as a CRM export (``truth`` adds the ``person`` column)."""
    import csv

    columns = [*FIELDS, "person"] if truth else FIELDS
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records.rows)
    return len(records.rows)
