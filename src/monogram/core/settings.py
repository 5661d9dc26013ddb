"""Typed configuration.

Two layers:

* ``Settings`` come from the environment (``MONOGRAM_*``): where the workspace lives, which
  database, which environment. They are validated at start-up.
* ``ProjectConfig`` is the editable project file ``monogram.yaml`` in the workspace: identity
  rules, lifecycle thresholds, RFM breakpoints, consent purposes and what each purpose may see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from monogram.core.errors import ConfigError, FieldError

PROJECT_FILE = "monogram.yaml"


class Settings(BaseSettings):
    """Process settings read from ``MONOGRAM_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MONOGRAM_", extra="ignore")

    home: Path = Field(default=Path(".monogram"), description="workspace folder")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in home")
    env: Literal["development", "test", "production"] = "development"
    secret_key: str | None = Field(
        default=None,
        description="signs tracking links; required in production, "
        "generated per workspace in development",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="where tracking links point"
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="FULL",
        description="FULL fsyncs every commit, so an acknowledged event survives power loss too",
    )

    statement_timeout_s: float = Field(
        default=300,
        ge=0,
        description="PostgreSQL: a statement running longer is cancelled (0: no limit)",
    )
    pool_size: int = Field(
        default=10, ge=1, le=100, description="PostgreSQL: connections kept open per process"
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'monogram.db').resolve()}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MatchingConfig(_Strict):
    """``identity.matching``: which scored pairs of profiles merge, and which a person sees."""

    auto_merge: float = Field(
        default=0.99, gt=0, le=1, description="merged at once at or above this probability"
    )
    review: float = Field(
        default=0.5, gt=0, le=1, description="suggested to a person from this probability up"
    )
    hard_identifiers: list[str] = Field(
        default_factory=lambda: ["user_id"],
        description="identifier types two profiles must not both hold with different values",
    )
    sample_pairs: int = Field(
        default=2_000_000, ge=10_000, description="random pairs that estimate u (training)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> MatchingConfig:
        if self.review > self.auto_merge:
            raise ValueError("review must not be above auto_merge")
        return self


class IdentityConfig(_Strict):
    limits: dict[str, int] = Field(
        default_factory=lambda: {"user_id": 1},
        description="most identifiers of a type one profile may hold; a merge past it is refused",
    )
    priority: list[str] = Field(
        default_factory=lambda: ["user_id", "email", "phone", "anonymous_id"],
        description="which identifier decides the profile when an event's identifiers disagree",
    )
    blocked_values: list[str] = Field(
        default_factory=lambda: [
            "",
            "null",
            "none",
            "nil",
            "undefined",
            "nan",
            "n/a",
            "na",
            "0",
            "-1",
            "unknown",
            "anonymous",
            "guest",
            "test",
            "[object object]",
            "test@test.com",
            "test@example.com",
            "noemail@noemail.com",
            "email@example.com",
            "00000000-0000-0000-0000-000000000000",
        ],
        description="junk values never used as identifiers (compared case-insensitively)",
    )
    trait_identifiers: list[str] = Field(
        default_factory=list, description="trait keys that carry custom ids, e.g. loyalty_id"
    )
    default_phone_region: str = "US"
    matching: MatchingConfig = Field(
        default_factory=lambda: MatchingConfig(),
        description="probabilistic matching of profiles exact identifiers miss (Splink)",
    )

    @field_validator("limits")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, limit in value.items():
            if limit < 1:
                raise ValueError(f"limit for {kind} must be at least 1")
        return value


class LifecycleConfig(_Strict):
    new_days: int = 30
    active_days: int = 90
    at_risk_days: int = 180
    lapsed_days: int = 365

    @model_validator(mode="after")
    def _increasing(self) -> LifecycleConfig:
        if not self.active_days < self.at_risk_days < self.lapsed_days:
            raise ValueError("need active_days < at_risk_days < lapsed_days")
        return self


class RFMConfig(_Strict):
    recency_days: list[int] = Field(default_factory=lambda: [30, 60, 120, 240])
    frequency_orders: list[int] = Field(default_factory=lambda: [2, 3, 5, 8])
    monetary: list[float] = Field(default_factory=lambda: [50.0, 150.0, 400.0, 1000.0])

    @field_validator("recency_days", "frequency_orders", "monetary")
    @classmethod
    def _four_increasing(cls, value: list[float]) -> list[float]:
        if len(value) != 4 or sorted(value) != list(value):
            raise ValueError("give four increasing breakpoints (they split scores 1 to 5)")
        return value


class AffinityConfig(_Strict):
    half_life_days: float = 45.0
    weights: dict[str, int] = Field(
        default_factory=lambda: {
            "Order Completed": 5,
            "Product Added": 3,
            "Product Viewed": 1,
            "Product Clicked": 1,
        }
    )


ContextField = Literal[
    "profile",
    "first_name",
    "location",
    "behaviour",
    "purchases",
    "segments",
    "lifecycle",
    "preferences",
    "zero_party",
    "recommendations",
    "engagement",
    "contact",
]


class PurposeConfig(_Strict):
    description: str = ""
    consent: list[str] = Field(default_factory=list, description="consents the purpose needs")
    fields: list[ContextField] = Field(default_factory=list)


def _default_purposes() -> dict[str, PurposeConfig]:
    common: list[ContextField] = [
        "profile",
        "first_name",
        "behaviour",
        "purchases",
        "segments",
        "lifecycle",
        "preferences",
        "zero_party",
        "recommendations",
    ]
    return {
        "email_marketing": PurposeConfig(
            description="marketing email written for one customer",
            consent=["email_marketing", "ai_generation"],
            fields=common,
        ),
        "web_personalization": PurposeConfig(
            description="on-site copy and recommendations",
            consent=["personalization"],
            fields=[f for f in common if f != "first_name"],
        ),
        "advertising": PurposeConfig(
            description="ad creative; no names, no purchase detail",
            consent=["advertising", "ai_generation"],
            fields=["segments", "lifecycle", "preferences", "recommendations"],
        ),
        "support": PurposeConfig(
            description="customer-service replies about this customer's own orders",
            consent=[],
            fields=[*common, "engagement"],
        ),
        "analytics": PurposeConfig(
            description="aggregate reporting",
            consent=[],
            fields=["segments", "lifecycle", "engagement"],
        ),
    }


class LLMConfig(_Strict):
    """Which language model writes content (``llm:`` in monogram.yaml)."""

    backend: str = Field(
        default="llamacpp",
        pattern=r"^[a-z][a-z0-9_.-]{0,63}$",
        description="llamacpp, openai, fake, or a backend a plug-in registers (monogram.models)",
    )
    model: str | None = Field(
        default=None,
        description="llamacpp: a GGUF path (default: the bundled SmolLM2-135M); "
        "openai: the model name",
    )
    base_url: str | None = Field(
        default=None, description="openai: the server, e.g. http://127.0.0.1:8080/v1"
    )
    api_key_env: str = Field(default="OPENAI_API_KEY", description="variable holding the API key")
    n_ctx: int = Field(default=1024, ge=256)
    chat_format: str | None = Field(
        default=None,
        description="llamacpp: the chat template to use when the GGUF has none (e.g. gemma, "
        "chatml, llama-3); default: the file's own template",
    )
    threads: int | None = Field(default=None, ge=1)
    cache_mb: int = Field(default=256, ge=0, description="RAM for cached prompt-prefix states")
    concurrency: int = Field(default=4, ge=1)
    timeout_s: float = Field(default=30.0, gt=0)
    retries: int = Field(default=2, ge=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_s: float = Field(default=30.0, ge=0)
    options: dict[str, Any] = Field(
        default_factory=dict, description="settings for a backend a plug-in registers"
    )

    @model_validator(mode="after")
    def _openai_needs_a_model(self) -> LLMConfig:
        if self.backend == "openai" and not self.model:
            raise ValueError("backend openai needs llm.model (the model name the server serves)")
        return self


class ImagesConfig(_Strict):
    """How creatives are made (``images:`` in monogram.yaml)."""

    backend: str = Field(
        default="compose",
        pattern=r"^[a-z][a-z0-9_.-]{0,63}$",
        description="compose (the catalogue's picture), openai-images (a picture generated "
        "from the element's prompt) or a plug-in's (entry-point group monogram.images)",
    )
    base_url: str | None = Field(
        default=None, description="openai-images: the server, e.g. http://127.0.0.1:7860/v1"
    )
    model: str | None = Field(default=None, description="openai-images: the model name")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="variable holding the key")
    generate_size: str = Field(
        default="1024x1024", pattern=r"^\d{2,4}x\d{2,4}$", description="what to ask the server for"
    )
    timeout_s: float = Field(default=60.0, gt=0, description="a generated picture, at most")
    download_timeout_s: float = Field(default=5.0, gt=0, description="a catalogue picture")
    max_download_mb: float = Field(default=10.0, gt=0, description="larger pictures are refused")
    max_kb: dict[str, int] = Field(
        default_factory=lambda: {"email": 1024, "ad": 5120, "web": 2048},
        description="largest creative file per channel (an element's max_kb wins)",
    )


class RealtimeConfig(_Strict):
    budget_ms: int = Field(
        default=800, ge=10, description="answer within this, with fallback if need be"
    )
    cache_hours: float = Field(default=24, ge=0, description="reuse a customer's content this long")


class ApiConfig(_Strict):
    """The HTTP server (``api:`` in monogram.yaml)."""

    rate_limit: dict[str, int] = Field(
        default_factory=lambda: {"write": 30000, "read": 6000, "admin": 3000},
        description="requests a minute per API key, by scope (0: no limit); over it a 429 "
        "with Retry-After",
    )
    quarantine_per_hour: int = Field(
        default=10_000,
        ge=0,
        description="rejected events kept in quarantine per API key an hour (the rest counted)",
    )

    @field_validator("rate_limit")
    @classmethod
    def _known_scopes(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - {"write", "read", "admin"})
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; known: write, read, admin")
        if any(n < 0 for n in value.values()):
            raise ValueError("a rate limit is a number of requests a minute, 0 or more")
        return value


# What can follow a message and earn a reward: engagement from the signed tracking links, a
# conversion, and replies (their sentiment, and whether a support follow-up says it is solved).
OUTCOMES = (
    "opened",
    "clicked",
    "converted",
    "unsubscribed",
    "replied",
    "positive_reply",
    "negative_reply",
    "resolved",
    "unresolved",
)


class LearningConfig(_Strict):
    policy: Literal["uniform", "baseline", "learned"] = Field(
        default="uniform",
        description="what serves while the learned policy records its own choice in shadow: "
        "uniform (random, the best logs for evaluation) or baseline (each placement's baseline "
        "strategy, apprentice mode); learned serves the learned policy",
    )
    backend: str = Field(
        default="thompson",
        pattern=r"^[a-z][a-z0-9_.-]{0,63}$",
        description="thompson (numpy, per context bucket), vw (Vowpal Wabbit cb_explore_adf, "
        "needs `pip install 'monogram[vw]'`), or one a plug-in registers (monogram.policies)",
    )
    floor: float = Field(default=0.02, ge=0, le=0.2, description="least probability per strategy")
    vw_args: str = Field(
        default="--cb_type ips -l 0.05",
        description="extra Vowpal Wabbit options for backend vw (exploration and -q UA are set)",
    )
    rewards: dict[str, float] = Field(
        default_factory=lambda: {
            "clicked": 1.0,
            "converted": 5.0,
            "unsubscribed": -5.0,
            "opened": 0.0,
            "positive_reply": 1.0,
            "negative_reply": -1.0,
        }
    )
    window_hours: float = Field(
        default=72, ge=0, description="outcomes counted this long after a decision"
    )
    update_minutes: float = Field(
        default=15, ge=0, description="`monogram serve` updates policies this often (0: never)"
    )

    @model_validator(mode="after")
    def _known_outcomes(self) -> LearningConfig:
        unknown = sorted(set(self.rewards) - set(OUTCOMES))
        if unknown:
            raise ValueError(f"rewards: unknown outcomes {unknown}; known: {', '.join(OUTCOMES)}")
        return self


class RepliesConfig(_Strict):
    """Customers' replies as outcomes (``replies:`` in monogram.yaml)."""

    address: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9._-]{1,14}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
        description="an inbox your mail provider forwards to POST /v1/inbound/email, e.g. "
        "replies@shop.example: sent emails get a Reply-To of replies+<message>.<signature>@... "
        "so each reply is matched to its message (plus-addressing must reach the inbox)",
    )


class ContextConfig(_Strict):
    recent_events: int = 10
    recommendations: int = 5
    purchases: int = 10


class ProjectConfig(_Strict):
    """The editable project file, ``monogram.yaml``."""

    name: str = "monogram"
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    rfm: RFMConfig = Field(default_factory=RFMConfig)
    affinity: AffinityConfig = Field(default_factory=AffinityConfig)
    consent_purposes: list[str] = Field(
        default_factory=lambda: [
            "email_marketing",
            "sms_marketing",
            "personalization",
            "ai_generation",
            "advertising",
        ]
    )
    purposes: dict[str, PurposeConfig] = Field(default_factory=_default_purposes)
    context: ContextConfig = Field(default_factory=ContextConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    realtime: RealtimeConfig = Field(default_factory=RealtimeConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    replies: RepliesConfig = Field(default_factory=RepliesConfig)

    @model_validator(mode="after")
    def _purposes_use_known_consents(self) -> ProjectConfig:
        for name, purpose in self.purposes.items():
            for consent in purpose.consent:
                if consent not in self.consent_purposes:
                    raise ValueError(
                        f"purpose {name!r} needs consent {consent!r}, "
                        f"which is not in consent_purposes"
                    )
        return self


def pydantic_field_errors(exc: PydanticValidationError) -> list[FieldError]:
    """Turn pydantic's errors into ``FieldError``s with dotted field paths."""
    out = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"])
        out.append(FieldError(field, err["msg"]))
    return out


M = TypeVar("M", bound=BaseModel)


def load_yaml_model(path: Path, model: type[M], *, missing: str | None = None) -> M:
    """Read and validate a YAML file as ``model``; a clear ConfigError names each bad field
    (and says ``missing`` when there is no such file)."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: {missing or 'no such file'}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        details = "; ".join(str(e) for e in pydantic_field_errors(exc))
        raise ConfigError(f"{path}: {details}") from exc


def load_project_config(path: Path) -> ProjectConfig:
    """Read and validate ``monogram.yaml``; a clear ConfigError names each bad field."""
    if not path.exists():
        return ProjectConfig()
    return load_yaml_model(path, ProjectConfig)
