"""Recognise prompt-injection attempts in customer free text (support messages, preference-centre
answers, traits), offline and in about a millisecond.

Customer text is always fenced as data (see ``prompts``); this module says how likely it is
that the text is also trying to instruct the model, with a score in [0, 1], the attack
category and the span that gave it away, so a placement can set its own threshold.

How: the text is normalised first, because attackers hide their words: zero-width and other
invisible characters removed, Unicode NFKC, confusable letters folded to ASCII (Cyrillic "о"
reads as "o"; Unicode's confusables table from ``confusable-homoglyphs``), accents stripped,
letters spaced apart joined again, leetspeak read as letters, and embedded base64, hex,
URL-encoded and rot13 text decoded (nested up to three levels, bounded). Then pattern families
in English, German, French, Spanish and Italian score each reading: instruction override,
persona jailbreaks, requests to reveal the prompt or other customers' data, text addressed to
the AI (indirect injection), fence and role markers, dictated concessions. A hit found only in
a decoded or folded reading scores higher: customers do not encode their questions. Hidden
text itself (many invisible characters, mixed-script words, a very long message) is suspicious
even when nothing readable is found.

Bounded: at most ``MAX_CHARS`` are read (a longer text counts as suspicious), decoding is
capped in depth and total size, and every pattern is linear-time (no nested quantifiers over
the same characters).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import re
import threading
import unicodedata
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from monogram.content.injection_patterns import FAMILIES, PHRASE_WORDS, Family

MAX_CHARS = 20_000  # read at most this much of one text
MAX_DECODED = 64_000  # total characters decoded from embedded encodings, per text
MAX_DEPTH = 3  # nested encodings followed
DEFAULT_THRESHOLD = 0.5
TOO_DEEP = "encoded more than three layers deep"

INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    r"\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
HEX_RUN = re.compile(r"(?:(?:\\x|0x)?[0-9a-fA-F]{2}[ :]?){8,}")
URL_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# Letters set apart: "i g n o r e", "i.g.n.o.r.e", "i-g-n-o-r-e" (at least four in a row).
SPACED = re.compile(r"\b(?:[^\W_][ .\-_*|/\\]{1,3}){3,}[^\W_]\b")
LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
LEET_WORD = re.compile(r"\b(?=[a-z0-9@$!]*[a-z])(?=[a-z0-9@$!]*[0-9@$!])[a-z0-9@$!]{3,}\b")
MIXED_SCRIPT = re.compile(r"\b(?=\w*[a-zA-Z])(?=\w*[\u0370-\u03ff\u0400-\u04ff])\w+\b")


@dataclass(frozen=True)
class Hit:
    category: str
    weight: float
    span: str
    reading: str  # "text" or how it was uncovered: "decoded base64", "homoglyphs folded", ...


@dataclass(frozen=True)
class Detection:
    """How likely a text is to be an injection attempt, and why (immutable: ``detect``
    hands the same answer to every caller that asks about the same text)."""

    score: float
    category: str | None = None  # the strongest hit's category
    span: str = ""  # what gave it away (from the reading it was found in)
    reading: str = "text"
    hits: tuple[Hit, ...] = ()

    @property
    def categories(self) -> list[str]:
        return sorted({h.category for h in self.hits})

    def suspicious(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        return self.score >= threshold

    def describe(self) -> str:
        if not self.hits:
            return "no sign of an injection attempt"
        where = "" if self.reading == "text" else f", found after {self.reading}"
        return f"{self.category} (score {self.score:.2f}{where}): {self.span!r}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "category": self.category,
            "span": self.span,
            "reading": self.reading,
            "categories": self.categories,
        }


# The same texts come back again and again (a footer rendered for every customer, one
# support message checked for each candidate answer). Short texts found harmless are
# remembered by a hash of the text, not the text: no customer's words stay in memory (an
# erased person's name included), and an attempt is always scored afresh.
CACHED_CHARS = 2_000
BENIGN_REMEMBERED = 8_192
_benign: OrderedDict[bytes, None] = OrderedDict()
_benign_lock = threading.Lock()


def detect(text: str) -> Detection:
    """Score one customer text (see the module docstring)."""
    if not isinstance(text, str) or not text:
        return Detection(0.0)
    if len(text) > CACHED_CHARS:
        return _detect(text)
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    with _benign_lock:
        if key in _benign:
            _benign.move_to_end(key)
            return Detection(0.0)
    found = _detect(text)
    if not found.hits:
        with _benign_lock:
            _benign[key] = None
            if len(_benign) > BENIGN_REMEMBERED:
                _benign.popitem(last=False)
    return found


def _detect(text: str) -> Detection:
    hits: list[Hit] = []
    if len(text) > MAX_CHARS:
        hits.append(Hit("obfuscation", 0.55, f"{len(text):,} characters", "length"))
        text = text[:MAX_CHARS]
    invisible = len(INVISIBLE.findall(text))
    if invisible >= 3:
        weight = 0.55 if invisible >= 20 else 0.3
        hits.append(Hit("obfuscation", weight, f"{invisible} invisible characters", "text"))
    mixed = MIXED_SCRIPT.findall(text)
    if mixed:  # "іgnоrе" with Cyrillic letters among Latin ones
        hits.append(Hit("obfuscation", 0.5, mixed[0][:60], "mixed scripts"))
    seen: set[int] = set()  # families already found in the text as written
    words: list[str] = []
    for reading, variant in readings(text):
        if reading == TOO_DEEP:
            hits.append(Hit("obfuscation", 0.6, "encoded text inside encoded text", reading))
            continue
        if reading == "text":
            words = re.findall(r"[a-z]+", variant)
        for index, family in enumerate(FAMILIES):
            if index in seen:
                continue
            hit = _match(family, variant, reading)
            if hit is None or (reading == "letters joined" and not _hidden(hit.span, words)):
                continue
            hits.append(hit)
            if reading == "text":
                seen.add(index)
    return _combine(hits)


def _match(family: Family, text: str, reading: str) -> Hit | None:
    pattern = family.squashed if reading == "letters joined" else family.pattern
    if pattern is None:
        return None
    found = pattern.search(text)
    if found is None:
        return None
    weight = family.weight
    if reading != "text" and weight >= 0.6:
        # Hidden words: found only once the text was decoded or unfolded.
        weight = max(weight, 0.9)
    return Hit(family.category, weight, found.group(0)[:120], reading)


def _hidden(squashed: str, words: list[str]) -> bool:
    """Whether a phrase found with every space removed was really hidden: split inside words or
    spelt out letter by letter. Whole words that merely run together ("disregard the previous
    instructions I gave") are the plain patterns' business, with their exceptions."""
    joined = "".join(words)
    start = joined.find(squashed)
    if start < 0:  # the text as written spells it with characters the words drop
        return True
    end, at = start + len(squashed), 0
    inside = []
    for word in words:
        if at >= end:
            break
        if at + len(word) > start:
            if at < start or at + len(word) > end:
                return True  # the phrase starts or ends inside a word
            inside.append(word)
        at += len(word)
    return not all(word in PHRASE_WORDS for word in inside)


def _combine(hits: list[Hit]) -> Detection:
    if not hits:
        return Detection(0.0)
    best: dict[str, Hit] = {}
    for hit in hits:  # one hit per category: its strongest
        if hit.category not in best or hit.weight > best[hit.category].weight:
            best[hit.category] = hit
    survival = 1.0
    for hit in best.values():
        survival *= 1.0 - hit.weight
    top = max(best.values(), key=lambda h: h.weight)
    uncovered = [h for h in hits if h.reading not in ("text", "length") and h.weight >= 0.5]
    category = "obfuscation" if uncovered and top.category != "obfuscation" else top.category
    if uncovered:
        top = max(uncovered, key=lambda h: h.weight)
    return Detection(round(1.0 - survival, 4), category, top.span, top.reading, tuple(hits))


def readings(text: str) -> list[tuple[str, str]]:
    """The ways to read ``text``: as written (lower case, accents stripped) and each way of
    uncovering hidden words. Each reading is named for the explanation."""
    visible = INVISIBLE.sub("", text)
    plain = _fold_case(unicodedata.normalize("NFKC", visible))
    out = [("text", plain)]
    folded = _fold_case(fold_homoglyphs(unicodedata.normalize("NFKC", visible)))
    if folded != plain:
        out.append(("homoglyphs folded", folded))
    joined = SPACED.sub(lambda m: re.sub(r"[ .\-_*|/\\]", "", m.group(0)), folded)
    if joined != folded:
        out.append(("spaced letters joined", joined))
    leet = LEET_WORD.sub(lambda m: m.group(0).translate(LEET), folded)
    if leet != folded:
        out.append(("leetspeak read", leet))
    out.append(("letters joined", re.sub(r"[^a-z]", "", folded)))
    out.append(("rot13 decoded", codecs.encode(folded, "rot13")))
    if len(folded) <= 4000:  # reversed text: "snoitcurtsni suoiverp erongi"
        out.append(("reversed", folded[::-1]))
    budget = [MAX_DECODED]
    for name, decoded in _decoded(visible, depth=1, budget=budget):
        out.append((name, _fold_case(fold_homoglyphs(unicodedata.normalize("NFKC", decoded)))))
    return out


def _decoded(text: str, depth: int, budget: list[int]) -> list[tuple[str, str]]:
    """Embedded base64, hex and URL-encoded runs that decode to text, followed ``MAX_DEPTH``
    levels deep within a total budget of ``MAX_DECODED`` characters."""
    if budget[0] <= 0:
        return []
    if depth > MAX_DEPTH:  # still encoded after three layers: no customer writes like that
        return [(TOO_DEEP, "")] if BASE64_RUN.search(text) or HEX_RUN.search(text) else []
    found: list[tuple[str, str]] = []
    if len(URL_ESCAPE.findall(text, 0, 4000)) >= 3:  # "Ignore%20all%20previous%20..."
        unquoted = urllib.parse.unquote(text)
        budget[0] -= len(unquoted)
        found.append(("decoded URL encoding", unquoted))
    for kind, pattern, decode in (
        ("base64", BASE64_RUN, _from_base64),
        ("hex", HEX_RUN, _from_hex),
    ):
        for run in pattern.finditer(text):
            if budget[0] <= 0:
                return found
            chunk = run.group(0)[: budget[0] * 2]
            decoded = decode(chunk)
            if not decoded:
                continue
            nested = BASE64_RUN.fullmatch(decoded.strip()) is not None
            if not (_readable(decoded) or nested):
                continue
            budget[0] -= len(decoded)
            name = f"decoded {kind}" if depth == 1 else f"decoded {kind} (nested {depth})"
            found.append((name, decoded))
            found += _decoded(decoded, depth + 1, budget)
    return found


def _from_base64(run: str) -> str | None:
    run = run.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _utf8(raw)


def _from_hex(run: str) -> str | None:
    digits = re.sub(r"\\x|0x|[ :]", "", run)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return _utf8(bytes.fromhex(digits))
    except ValueError:
        return None


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _readable(text: str) -> bool:
    """Decoded bytes that read as words, not noise (most base64-looking runs are ids)."""
    letters = sum(c.isalpha() or c.isspace() for c in text)
    return len(text) >= 6 and letters / len(text) >= 0.8 and " " in text.strip()


def _fold_case(text: str) -> str:
    """Lower case without accents: patterns are written in plain ASCII letters."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold_homoglyphs(text: str) -> str:
    table = _homoglyphs()
    if text.isascii():
        return text
    return text.translate(table)


@lru_cache(maxsize=1)
def _homoglyphs() -> dict[int, str]:
    """Characters that look like an ASCII letter or digit, mapped to it (Unicode confusables)."""
    source = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    table: dict[int, str] = {}
    for char, glyphs in json.loads(source.read_text(encoding="utf-8")).items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_like = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii()]
        ascii_like = [c for c in ascii_like if c.isalnum()]
        if ascii_like:
            table[ord(char)] = ascii_like[0]
    return table


def free_texts(context: dict[str, Any]) -> list[tuple[str, str]]:
    """The customer-written texts in a prompt's context, as ``(field, text)``: the message a
    request carries (a support question) and zero-party answers in the customer's own words."""
    out = []
    for name, value in (context.get("input") or {}).items():
        if isinstance(value, str) and value.strip():
            out.append((f"input.{name}", value))
    for name, value in (context.get("zero_party") or {}).items():
        if isinstance(value, str) and len(value) > 20:
            out.append((f"zero_party.{name}", value))
        elif isinstance(value, list):
            joined = ", ".join(str(v) for v in value if isinstance(v, str))
            if len(joined) > 20:
                out.append((f"zero_party.{name}", joined))
    return out


def reads(fields: list[str], name: str) -> bool:
    """Whether an element whose prompt holds ``fields`` reads the free text ``name``
    (``input.message`` is read by ``input.message`` and by ``input``)."""
    root = name.split(".")[0]
    return any(f in (name, root) or f.startswith(f"{root}.") for f in fields)


def scan(texts: list[tuple[str, str]]) -> tuple[str, Detection] | None:
    """The most suspicious of several ``(field, text)`` pairs, or None if there are none."""
    best: tuple[str, Detection] | None = None
    for name, text in texts:
        found = detect(text)
        if best is None or found.score > best[1].score:
            best = (name, found)
    return best
