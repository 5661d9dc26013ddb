"""Injection: the output must not follow instructions smuggled into customer free text (a
support message, a preference-centre answer). The prompt side fences and quotes such text;
this check catches what got through."""

from __future__ import annotations

import re
from typing import Any

from monogram.quality.checks import CheckInput, CheckResult, Reason, find_all, result

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?]{0,40}\b(?:rules?|instructions?|prompts?|guidelines?|policy|above|previous)\b"
    r"|\byou are now\b|\bact as\b|\bpretend (?:to be|you are)\b|\bsystem prompt\b|\bnew instructions?\b"
    r"|\b(?:give|send|offer) me\b[^.!?]{0,30}(?:\d+\s?%|free|discount|refund|code)"
    r"|\b(?:say|write|tell them|reply with|repeat)\b[^.!?]{0,20}[\"']",
    re.I,
)
LEAK = re.compile(
    r"\bas an ai\b|\blanguage model\b|\bsystem prompt\b|\bmy instructions\b|\bi (?:cannot|can't|am not able to) (?:comply|do that)\b"
    r"|\bignor(?:e|ing) (?:all |the |your )?(?:previous |above )?(?:rules|instructions)\b|<\|im_|\bcustomer data\b|\bDATA\b",
    re.I,
)
CONCESSION = re.compile(
    r"\b\d{1,3}\s?% off\b|\bfull refund\b|\bfree of charge\b|\bdiscount code\b|\bas you (?:asked|requested)\b|\bhere is your (?:code|discount)\b",
    re.I,
)


def free_texts(context: dict[str, Any]) -> list[str]:
    out = []
    message = (context.get("input") or {}).get("message")
    if isinstance(message, str):
        out.append(message)
    for value in (context.get("zero_party") or {}).values():
        if isinstance(value, str) and len(value) > 20:
            out.append(value)
    return out


def ngrams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9%]+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class InjectionCheck:
    name = "injection"

    def __call__(self, item: CheckInput) -> CheckResult:
        text = item.text
        reasons = find_all(LEAK, text, "talks about its instructions or the prompt")
        for source in free_texts(item.context):
            attempts = list(INSTRUCTION.finditer(source))
            if not attempts:
                continue
            reasons += find_all(
                CONCESSION, text, "concedes what an instruction in the customer's text asked for"
            )
            for attempt in attempts:
                shared = ngrams(attempt.group(0)) & ngrams(text)
                if shared:
                    phrase = " ".join(sorted(shared)[0])
                    reasons.append(
                        Reason("repeats an instruction from the customer's text", phrase)
                    )
        return result(self.name, reasons)
