"""`monogram validate`: every project file checked at once, each problem named by its file.

Commands keep working when one segment or placement file is broken (it is skipped with a
warning); this is where a marketer sees everything that is wrong before a run: the project
file, the brand kit, each segment (consent names included), each placement (its purpose, its
learning segments) and each campaign (its placement, audience and sender).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from monogram.campaigns import load_campaign, sender_for
from monogram.cdp.segments import Segment, consent_names, load_segments
from monogram.content.brand import BrandKit, load_brand
from monogram.content.placements import Placement, load_placements
from monogram.core.errors import MonogramError
from monogram.core.settings import PROJECT_FILE, ProjectConfig, load_project_config

T = TypeVar("T")


@dataclass
class Checkup:
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_project(home: Path) -> Checkup:
    report = Checkup()
    config = _load(report, lambda: load_project_config(home / PROJECT_FILE)) or ProjectConfig()
    brand: BrandKit | None = _load(report, lambda: load_brand(home / "brand.yaml"))
    problems: list[str] = []
    segments = load_segments(home / "segments", problems)
    placements = load_placements(home / "placements", problems)
    report.problems += problems
    _segments(report, config, segments)
    _placements(report, config, placements, segments)
    campaigns = sorted((home / "campaigns").glob("*.yaml"))
    for path in campaigns:
        try:
            spec = load_campaign(path)
        except MonogramError as exc:
            report.problems.append(exc.message)
            continue
        if spec.placement not in placements:
            report.problems.append(f"{path}: placement {spec.placement!r} is not defined")
        if spec.audience not in segments:
            report.problems.append(f"{path}: audience {spec.audience!r} is not a segment")
        if brand is not None:
            try:
                sender_for(spec, brand)
            except MonogramError as exc:
                report.problems.append(f"{path}: {exc.message}")
    report.counts = {
        "segments": len(segments),
        "placements": len(placements),
        "campaigns": len(campaigns),
    }
    return report


def _load(report: Checkup, loader: Callable[[], T]) -> T | None:
    try:
        return loader()
    except MonogramError as exc:
        report.problems.append(exc.message)
        return None


def _segments(report: Checkup, config: ProjectConfig, segments: dict[str, Segment]) -> None:
    known = set(config.consent_purposes)
    for segment in segments.values():
        unknown = sorted(consent_names(segment.rule) - known)
        if unknown:
            report.problems.append(
                f"segments: {segment.name!r} refers to consent {', '.join(unknown)}, which "
                f"monogram.yaml does not define (known: {', '.join(sorted(known))}): it would "
                "match nobody"
            )


def _placements(
    report: Checkup,
    config: ProjectConfig,
    placements: dict[str, Placement],
    segments: dict[str, Segment],
) -> None:
    for placement in placements.values():
        where = f"placements/{placement.name}.yaml"
        if placement.purpose not in config.purposes:
            known = ", ".join(sorted(config.purposes))
            report.problems.append(
                f"{where}: purpose {placement.purpose!r} is not in monogram.yaml (known: {known})"
            )
        for name in placement.learning.segments:
            if name not in segments:
                report.problems.append(f"{where}: learning segment {name!r} is not defined")
