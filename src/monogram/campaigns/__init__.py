"""Campaigns: one placement to an audience, run as resumable batches (see ``run``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from monogram.content.brand import BrandKit
from monogram.core.errors import ConfigError
from monogram.core.settings import load_yaml_model


class FrequencyCap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max: int = Field(default=3, ge=1)
    days: int = Field(default=7, ge=1)


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    description: str = ""
    placement: str
    audience: str = Field(description="a segment name")
    channel: str = Field(default="file://{home}/outbox/{campaign}.jsonl")
    sender: str | None = Field(
        default=None, description="who it comes from; default: the brand kit's sender"
    )
    holdout: float = Field(default=0.1, ge=0, lt=1)
    frequency_cap: FrequencyCap = Field(default_factory=FrequencyCap)
    strategies: list[str] = Field(default_factory=list, description="default: all the placement's")


def sender_for(spec: Campaign, brand: BrandKit) -> str:
    """Who the campaign's email comes from: its own sender, else the brand kit's."""
    sender = spec.sender or brand.sender
    if not sender:
        raise ConfigError(
            f"campaign {spec.name!r} has no sender: set sender in brand.yaml "
            '(e.g. sender: "Bean & Leaf <hello@beanandleaf.example>") or in the campaign file'
        )
    return sender


def load_campaign(path: Path) -> Campaign:
    return load_yaml_model(path, Campaign, missing="no such campaign file")
