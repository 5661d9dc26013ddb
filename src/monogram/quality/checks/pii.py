"""PII leakage: no email addresses, phone numbers, card numbers, IBANs, national ids,
street addresses or other customers' names. Checksums where they exist (Luhn, IBAN mod 97);
the CDP says whether a name belongs to another customer."""

from __future__ import annotations

import re

import phonenumbers

from monogram.quality.checks import CheckInput, CheckResult, Reason, find_all, result

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|"
    r"Boulevard|Blvd|Court|Ct|Way|Place|Pl)\b\.?"
)
NAME = re.compile(r"\b[A-Z][a-z]{2,}\b")


def luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, char in enumerate(digits):
        d = int(char)
        if i % 2 == parity:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return len(compact) >= 15 and int(number) % 97 == 1


class PIICheck:
    name = "pii"

    def __call__(self, item: CheckInput) -> CheckResult:
        text = item.text
        reasons = find_all(EMAIL, text, "an email address")
        reasons += find_all(SSN, text, "a national id number")
        reasons += find_all(STREET, text, "a street address")
        for phone in phonenumbers.PhoneNumberMatcher(text, "US"):
            reasons.append(Reason("a phone number", phone.raw_string, phone.start))
        for card in CARD.finditer(text):
            digits = re.sub(r"\D", "", card.group(0))
            if 13 <= len(digits) <= 19 and luhn(digits):
                reasons.append(Reason("a payment card number", card.group(0), card.start()))
        for iban in IBAN.finditer(text):
            if iban_valid(iban.group(0)):
                reasons.append(Reason("an IBAN", iban.group(0), iban.start()))
        reasons += self._other_names(item)
        return result(self.name, reasons)

    def _other_names(self, item: CheckInput) -> list[Reason]:
        own = str((item.context.get("profile") or {}).get("first_name") or "").lower()
        may_name = "profile.first_name" in item.element.fields
        out = []
        for match in NAME.finditer(item.text):
            word = match.group(0).lower()
            if word == own:
                if not may_name:
                    out.append(
                        Reason(
                            "the customer's name where this element may not use it",
                            match.group(0),
                            match.start(),
                        )
                    )
            elif word in item.facts.other_names:
                out.append(Reason("another customer's name", match.group(0), match.start()))
        return out
