"""Compliance: banned claims (the brand's phrases and patterns, plus paraphrases of the usual
claim families), and no language aimed at sensitive attributes unless the placement allows it."""

from __future__ import annotations

import re

from monogram.quality.checks import CheckInput, CheckResult, find_all, phrase_pattern, result

# Paraphrases of claims regulators and brand teams ban, beyond the exact phrases in a kit.
CLAIM_FAMILIES: dict[str, str] = {
    "a guarantee": r"guarantee[ds]?|money[\s-]*back|promise[sd]? (?:you )?(?:results|success)|100% satisf",
    "no risk": r"risk[\s-]*free|no[\s-]risk|zero[\s-]risk|nothing to lose|can't lose|cannot lose",
    "a health claim": r"\bcure[sd]?\b|\bheal(?:s|ing)?\b|treats? (?:your )?(?:pain|injur\w*|illness)|prevents? injur\w*|clinically proven|doctor[\s-]recommended",
    "a lowest-price claim": r"lowest prices?|cheapest (?:anywhere|online|ever|price)|best prices? (?:anywhere|guaranteed|ever)|unbeatable prices?|never pay (?:less|more)",
    "an absolute superlative": r"best in the world|world'?s best|#\s?1\b|number one (?:brand|shop|store)",
}
SENSITIVE: dict[str, str] = {
    "health": r"\bdiabet\w*|\bpregnan\w*|\bdepress\w*|\banxiety\b|\bobes\w*|\boverweight\b|\blose weight\b|\bcancer\b|\bdisabilit\w*|your (?:weight|health condition|illness)"
    r"|\binjur(?:y|ies|ed)\b|\bmental health\b|\bchronic (?:pain|illness|condition)|\bsurgery\b|\bmedication\b|\billness\b|recover(?:y|ing) from (?:an? )?(?:injury|illness|surgery)",
    "finances": r"\bdebts?\b|credit score|\bloans?\b|\bbankrupt\w*|can'?t afford|cannot afford|on a (?:tight )?budget because|\bbroke\b|\bpaycheck\b"
    r"|times are (?:tough|hard)|(?:tough|hard|difficult) times|money(?:'s| is) tight|tight on (?:money|cash)|short on (?:money|cash)"
    r"|strapped for cash|struggl\w* (?:financially|to pay|with (?:money|bills)|to make ends meet)|make ends meet"
    r"|financial(?:ly)? (?:hardship|struggl\w*|difficult\w*|stress\w*|trouble)|low[\s-]income|lost your job|\bunemploy\w*|between jobs|\bpayday\b|\bbills? to pay\b",
    "age": r"at your age|\bseniors?\b|\belderly\b|older (?:customers|people)|\bretirees?\b|you(?:'re| are) (?:getting )?(?:old|too old)",
    "identity": r"\bgay\b|\blesbian\b|\bbisexual\b|\btransgender\b|\bqueer\b|\bLGBTQ?\+?|\bimmigrants?\b|\bethnicity\b|\byour (?:race|skin colou?r|nationality)\b|\bsingle (?:mum|mom|parent)s?\b|\bdivorc\w*|\bwidow\w*",
    "religion": r"\bchristians?\b|\bmuslims?\b|\bjewish\b|\bhindus?\b|\bchurch\b|\bmosque\b|\bprayers?\b|\breligio\w*|\bbless(?:ed|ings)\b",
}
_families = {name: re.compile(p, re.IGNORECASE) for name, p in CLAIM_FAMILIES.items()}
_sensitive = {name: re.compile(p, re.IGNORECASE) for name, p in SENSITIVE.items()}


def jurisdiction(item: CheckInput) -> str:
    """The customer's country when the context has it, else the brand's default."""
    given = (item.context.get("input") or {}).get("jurisdiction")
    country = (item.context.get("location") or {}).get("country")
    return str(given or country or item.brand.jurisdiction).upper()


class ComplianceCheck:
    name = "compliance"

    def __call__(self, item: CheckInput) -> CheckResult:
        text, brand = item.text, item.brand
        reasons = []
        banned = phrase_pattern(brand.banned_claims)
        if banned:
            reasons += find_all(banned, text, "a banned claim")
        for pattern in brand.banned_patterns:
            reasons += find_all(
                re.compile(pattern, re.IGNORECASE), text, "matches a banned pattern"
            )
        where = jurisdiction(item)
        local = brand.jurisdictions.get(where)
        if local:
            extra = phrase_pattern(local.banned_claims)
            if extra:
                reasons += find_all(extra, text, f"a claim banned in {where}")
            for pattern in local.banned_patterns:
                local_pattern = re.compile(pattern, re.IGNORECASE)
                reasons += find_all(local_pattern, text, f"a pattern banned in {where}")
        for family, claim in _families.items():
            reasons += find_all(claim, text, f"makes {family}")
        allowed = set(item.placement.gate.allow_sensitive)
        for topic, words in _sensitive.items():
            if topic not in allowed:
                reasons += find_all(words, text, f"targets a sensitive attribute ({topic})")
        seen, unique = set(), []
        for reason in reasons:
            if (reason.start, reason.span.lower()) not in seen:
                seen.add((reason.start, reason.span.lower()))
                unique.append(reason)
        return result(self.name, unique)
