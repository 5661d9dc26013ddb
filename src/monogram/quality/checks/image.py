"""Checks on a rendered creative, at every size it was rendered in.

* ``image_text``: every word in the image is text the gate passed or people approved (the
  element texts the creative was given, the button, the catalogue price, the brand's name);
* ``contrast``: each text against what is behind it meets WCAG AA (4.5:1, measured on the
  pixels: the worst 5% of the background behind the text);
* ``fit``: each text fits its box at a readable size (nothing cut, nothing overflowing);
* ``logo``: the logo or wordmark is there (its box is not blank);
* ``file_size``: the file is under the channel's limit.
"""

from __future__ import annotations

from collections.abc import Iterable

from monogram.content.images import Rendition
from monogram.quality.checks import CheckResult, Reason

AA = 4.5


def check_creative(
    renditions: list[Rendition],
    allowed: Iterable[str],
    max_bytes: int,
    min_contrast: float = AA,
) -> list[CheckResult]:
    known = {text.strip() for text in allowed if text}
    return [
        _each(renditions, "image_text", lambda r: _texts(r, known)),
        _each(renditions, "contrast", lambda r: _contrast(r, min_contrast)),
        _each(renditions, "fit", _fit),
        _each(renditions, "logo", _logo),
        _each(renditions, "file_size", lambda r: _size(r, max_bytes)),
    ]


def _each(renditions: list[Rendition], name: str, check: object) -> CheckResult:
    reasons: list[Reason] = []
    for rendition in renditions:
        reasons += check(rendition)  # type: ignore[operator]
    return CheckResult(name, not reasons, 0.0 if reasons else 1.0, reasons)


def _where(rendition: Rendition) -> str:
    return f"{rendition.width}x{rendition.height}"


def _texts(rendition: Rendition, known: set[str]) -> list[Reason]:
    return [
        Reason(f"{_where(rendition)}: {text.role} is not gated or approved text", text.text)
        for text in rendition.texts
        if text.text.strip() not in known
    ]


def _contrast(rendition: Rendition, least: float) -> list[Reason]:
    return [
        Reason(
            f"{_where(rendition)}: {text.role} contrast {text.contrast:.2f}:1 is under {least}:1",
            text.text,
        )
        for text in rendition.texts
        if text.contrast < least
    ]


def _fit(rendition: Rendition) -> list[Reason]:
    return [
        Reason(f"{_where(rendition)}: {text.role} does not fit its box", text.text)
        for text in rendition.texts
        if not text.fits
    ]


def _logo(rendition: Rendition) -> list[Reason]:
    if rendition.logo is None or rendition.logo_ink < 1.0:
        return [Reason(f"{_where(rendition)}: no logo or wordmark drawn")]
    return []


def _size(rendition: Rendition, max_bytes: int) -> list[Reason]:
    if rendition.bytes > max_bytes:
        return [
            Reason(
                f"{_where(rendition)}: {rendition.bytes // 1024} KB is over the "
                f"{max_bytes // 1024} KB limit"
            )
        ]
    return []
