"""Declarative audiences: a small, safe rule language (no ``eval``), in YAML.

A segment is a name, a description and a rule. A rule is one condition or a group::

    name: lapsed_runners
    description: Lapsed runners we may email
    rule:
      all:
        - {field: lifecycle_stage, op: in, value: [at_risk, lapsed]}
        - {facet: category, value: running}          # a favourite category (top 3)
        - {consent: email_marketing}                  # granted
        - {event: Product Viewed, within_days: 30, min_count: 1, where: {category: running}}
        - {trait: plan, op: eq, value: pro}
        - {not: {field: order_count, op: gte, value: 10}}

The same rule is evaluated for one profile in Python (real time) and for the whole base as
one SQL query; both give the same answer, which the tests check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Connection, and_, cast, false, func, not_, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from monogram.core.clock import now, parse_timestamp
from monogram.core.errors import ConfigError, NotFound
from monogram.core.settings import LifecycleConfig, ProjectConfig
from monogram.store.tables import events, profiles

Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists"]
NumericField = Literal[
    "order_count",
    "lifetime_value",
    "days_since_last_order",
    "days_since_last_seen",
    "days_since_first_order",
]
STAGES = ("prospect", "new", "active", "at_risk", "lapsed", "churned")


class _Cond(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FieldCond(_Cond):
    kind: Literal["field"] = Field(default="field", exclude=True)
    field: NumericField | Literal["lifecycle_stage"]
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _value_needed(self) -> FieldCond:
        if self.op != "exists" and self.value is None:
            raise ValueError(f"op {self.op!r} needs a value")
        return self

    @field_validator("value")
    @classmethod
    def _value_shape(cls, value: Any, info: Any) -> Any:
        op = info.data.get("op")
        if op in ("in", "not_in") and not isinstance(value, list):
            raise ValueError(f"op {op!r} needs a list value")
        if info.data.get("field") == "lifecycle_stage":
            for stage in value if isinstance(value, list) else [value]:
                if op != "exists" and stage not in STAGES:
                    raise ValueError(f"{stage!r} is not a lifecycle stage ({', '.join(STAGES)})")
        return value


class TraitCond(_Cond):
    kind: Literal["trait"] = Field(default="trait", exclude=True)
    trait: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _value_needed(self) -> TraitCond:
        if self.op != "exists" and self.value is None:
            raise ValueError(f"op {self.op!r} needs a value")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list value")
        return self


class FacetCond(_Cond):
    kind: Literal["facet"] = Field(default="facet", exclude=True)
    facet: Literal["category", "brand", "interest"]
    value: str = Field(min_length=1)


class ConsentCond(_Cond):
    kind: Literal["consent"] = Field(default="consent", exclude=True)
    consent: str = Field(min_length=1)


class EventCond(_Cond):
    kind: Literal["event"] = Field(default="event", exclude=True)
    event: str = Field(min_length=1)
    within_days: int = Field(default=30, ge=1, le=3650)
    min_count: int = Field(default=1, ge=1)
    where: dict[str, str] = Field(
        default_factory=dict, description="property values to match (text, case-insensitive)"
    )

    @field_validator("where")
    @classmethod
    def _property_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not key.replace("_", "").isalnum():
                raise ValueError(f"property name {key!r} must be letters, digits and _")
        return value


class AllCond(_Cond):
    kind: Literal["all"] = Field(default="all", exclude=True)
    all: list[Condition] = Field(min_length=1)


class AnyCond(_Cond):
    kind: Literal["any"] = Field(default="any", exclude=True)
    any: list[Condition] = Field(min_length=1)


class NotCond(_Cond):
    kind: Literal["not"] = Field(default="not", exclude=True)
    not_: Condition = Field(alias="not")


_KINDS = ("all", "any", "not", "field", "trait", "facet", "consent", "event")


def _kind(value: Any) -> str | None:
    """Which condition a mapping is, by its one telling key (so errors point at that kind)."""
    if isinstance(value, dict):
        for key in _KINDS:
            if key in value:
                return key
        return None
    return getattr(value, "kind", None)


Condition = Annotated[
    Annotated[AllCond, Tag("all")]
    | Annotated[AnyCond, Tag("any")]
    | Annotated[NotCond, Tag("not")]
    | Annotated[FieldCond, Tag("field")]
    | Annotated[TraitCond, Tag("trait")]
    | Annotated[FacetCond, Tag("facet")]
    | Annotated[ConsentCond, Tag("consent")]
    | Annotated[EventCond, Tag("event")],
    Discriminator(
        _kind,
        custom_error_type="unknown_condition",
        custom_error_message=f"a condition is a mapping with one of: {', '.join(_KINDS)}",
    ),
]
for _model in (AllCond, AnyCond, NotCond):
    _model.model_rebuild()


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    description: str = ""
    rule: Condition


_segment_list = TypeAdapter(list[Segment])


def parse_segments(data: Any, origin: str) -> list[Segment]:
    """Validate segment definitions (one mapping or a list); ConfigError names the field."""
    items = data if isinstance(data, list) else [data]
    try:
        return _segment_list.validate_python(items)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{origin}: {_where(first['loc'])}: {first['msg']}") from exc


def _where(loc: tuple[Any, ...]) -> str:
    """A readable path to the field: the union's internal tags left out ("literal[...]") and
    the repeats they cause ("all.all") folded, so ``0.rule.all.0.field``."""
    parts: list[str] = []
    for part in map(str, loc):
        if part.startswith(("literal[", "function-", "tagged-union[")):
            continue
        if not parts or parts[-1] != part:
            parts.append(part)
    return ".".join(parts)


def load_segments(folder: Path, problems: list[str] | None = None) -> dict[str, Segment]:
    """All segments defined in ``folder/*.yaml``, by name. With ``problems``, a file that does
    not load is named there and skipped (the rest keeps working); else it is a ConfigError."""
    found: dict[str, Segment] = {}
    if not folder.exists():
        return found
    for path in sorted(folder.glob("*.yaml")):
        try:
            found.update(_segments_in(path, found))
        except ConfigError as exc:
            if problems is None:
                raise
            problems.append(exc.message)
    return found


def _segments_in(path: Path, known: dict[str, Segment]) -> dict[str, Segment]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    found: dict[str, Segment] = {}
    if data is None:
        return found
    for segment in parse_segments(data, str(path)):
        if segment.name in known or segment.name in found:
            raise ConfigError(f"{path}: segment {segment.name!r} is defined twice")
        found[segment.name] = segment
    return found


def consent_names(rule: Any) -> set[str]:
    """Every consent name a rule refers to (to check against the project's)."""
    if isinstance(rule, ConsentCond):
        return {rule.consent}
    names: set[str] = set()
    for inner in (getattr(rule, "all", None), getattr(rule, "any", None)):
        for child in inner or []:
            names |= consent_names(child)
    if isinstance(rule, NotCond):
        names |= consent_names(rule.not_)
    return names


def get_segment(segments: dict[str, Segment], name: str) -> Segment:
    try:
        return segments[name]
    except KeyError:
        known = ", ".join(sorted(segments)) or "none defined"
        raise NotFound(f"no segment named {name!r} (known: {known})") from None


# ---------------------------------------------------------------------------------------------
# One profile, in Python


@dataclass
class Facts:
    """What a rule can look at for one profile."""

    profile_id: str
    summary: dict[str, Any]
    traits: dict[str, Any]
    facets: dict[str, set[str]]
    consent: dict[str, bool]
    conn: Connection
    at: datetime


def matches(rule: Any, facts: Facts, config: ProjectConfig) -> bool:
    if isinstance(rule, AllCond):
        return all(matches(r, facts, config) for r in rule.all)
    if isinstance(rule, AnyCond):
        return any(matches(r, facts, config) for r in rule.any)
    if isinstance(rule, NotCond):
        return not matches(rule.not_, facts, config)
    if isinstance(rule, FieldCond):
        value = facts.summary.get(rule.field)
        if rule.field == "days_since_first_order":
            first = facts.summary.get("first_order_at")
            value = (facts.at - parse_timestamp(first)).days if first else None
        return _compare(value, rule.op, rule.value)
    if isinstance(rule, TraitCond):
        return _compare(facts.traits.get(rule.trait), rule.op, rule.value)
    if isinstance(rule, FacetCond):
        return rule.value.strip().lower() in facts.facets.get(rule.facet, set())
    if isinstance(rule, ConsentCond):
        return facts.consent.get(rule.consent) is True
    if isinstance(rule, EventCond):
        return _event_count(rule, facts) >= rule.min_count
    raise TypeError(f"unknown condition {rule!r}")


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "exists":
        return actual is not None
    if actual is None:
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return op in ("eq", "ne") and ((actual == expected) == (op == "eq"))
    if op in ("in", "not_in"):
        hit = any(_equal(actual, e) for e in expected)
        return hit if op == "in" else not hit
    if op in ("eq", "ne"):
        return _equal(actual, expected) == (op == "eq")
    a, b = _as_float(actual), _as_float(expected)
    if a is None or b is None:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def _equal(actual: Any, expected: Any) -> bool:
    a, b = _as_float(actual), _as_float(expected)
    if a is not None and b is not None and not isinstance(expected, str):
        return a == b
    return str(actual) == str(expected)


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _event_count(rule: EventCond, facts: Facts) -> int:
    since = facts.at - timedelta(days=rule.within_days)
    query = select(events.c.payload).where(
        events.c.profile_id == facts.profile_id, events.c.name == rule.event, events.c.ts >= since
    )
    if not rule.where:
        return len(facts.conn.execute(query).all())
    count = 0
    for (payload,) in facts.conn.execute(query):
        props = orjson.loads(payload).get("properties") or {}
        if all(_prop_equal(props.get(k), v) for k, v in rule.where.items()):
            count += 1
    return count


def _prop_equal(actual: Any, expected: str) -> bool:
    return isinstance(actual, str) and actual.strip().lower() == expected.strip().lower()


# ---------------------------------------------------------------------------------------------
# The whole base, in SQL


def members_query(
    rule: Any, config: ProjectConfig, dialect: str, at: datetime | None = None
) -> Any:
    """A SELECT of the profile ids that match ``rule``."""
    at = at or now()
    return select(profiles.c.profile_id).where(_sql(rule, config.lifecycle, dialect, at))


def members(
    conn: Connection,
    segment: Segment,
    config: ProjectConfig,
    *,
    limit: int | None = None,
    at: datetime | None = None,
) -> list[str]:
    query = members_query(segment.rule, config, conn.dialect.name, at).order_by(
        profiles.c.profile_id
    )
    if limit:
        query = query.limit(limit)
    return list(conn.execute(query).scalars())


def count_members(conn: Connection, segment: Segment, config: ProjectConfig) -> int:
    sub = members_query(segment.rule, config, conn.dialect.name).subquery()
    return int(conn.execute(select(func.count()).select_from(sub)).scalar_one())


def _sql(rule: Any, life: LifecycleConfig, dialect: str, at: datetime) -> ColumnElement[bool]:
    if isinstance(rule, AllCond):
        return and_(*(_sql(r, life, dialect, at) for r in rule.all))
    if isinstance(rule, AnyCond):
        return or_(*(_sql(r, life, dialect, at) for r in rule.any))
    if isinstance(rule, NotCond):
        return not_(_sql(rule.not_, life, dialect, at))
    if isinstance(rule, FieldCond):
        return _field_sql(rule, life, at)
    if isinstance(rule, TraitCond):
        return _trait_sql(rule)
    if isinstance(rule, FacetCond):
        tag = f"|{rule.facet}:{rule.value.strip().lower().replace('|', '/')}|"
        return profiles.c.facets.contains(tag, autoescape=True)
    if isinstance(rule, ConsentCond):
        return profiles.c.consented.contains(f"|{rule.consent}|", autoescape=True)
    if isinstance(rule, EventCond):
        return _event_sql(rule, dialect, at)
    raise TypeError(f"unknown condition {rule!r}")


def _days_since(column: Any, op: str, n: int, at: datetime) -> ColumnElement[bool]:
    """``(at - column).days OP n`` as a timestamp comparison (NULL never matches)."""

    def ge(k: int) -> ColumnElement[bool]:
        return and_(column.is_not(None), column <= at - timedelta(days=k))

    def lt(k: int) -> ColumnElement[bool]:
        return and_(column.is_not(None), column > at - timedelta(days=k))

    return {
        "gte": lambda: ge(n),
        "gt": lambda: ge(n + 1),
        "lt": lambda: lt(n),
        "lte": lambda: lt(n + 1),
        "eq": lambda: and_(ge(n), lt(n + 1)),
        "ne": lambda: or_(lt(n), ge(n + 1)),
    }[op]()


def _field_sql(rule: FieldCond, life: LifecycleConfig, at: datetime) -> ColumnElement[bool]:
    if rule.field == "lifecycle_stage":
        if rule.op == "exists":
            return true()
        wanted = rule.value if isinstance(rule.value, list) else [rule.value]
        hit = or_(*(_stage_sql(s, life, at) for s in wanted)) if wanted else false()
        return not_(hit) if rule.op in ("ne", "not_in") else hit
    days_columns = {
        "days_since_last_order": profiles.c.last_order_at,
        "days_since_last_seen": profiles.c.last_seen_at,
        "days_since_first_order": profiles.c.first_order_at,
    }
    if rule.field in days_columns:
        column = days_columns[rule.field]
        if rule.op == "exists":
            return column.is_not(None)
        if rule.op in ("in", "not_in"):
            hit = or_(*(_days_since(column, "eq", int(v), at) for v in rule.value))
            return and_(column.is_not(None), not_(hit)) if rule.op == "not_in" else hit
        return _days_since(column, rule.op, int(rule.value), at)
    column = profiles.c[rule.field]
    return _compare_sql(column, rule.op, rule.value)


def _compare_sql(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if op == "exists":
        return column.is_not(None)
    if op == "in":
        return column.in_(value)
    if op == "not_in":
        return and_(column.is_not(None), column.not_in(value))
    comparisons: dict[str, ColumnElement[bool]] = {
        "eq": column == value,
        "ne": column != value,
        "gt": column > value,
        "gte": column >= value,
        "lt": column < value,
        "lte": column <= value,
    }
    return comparisons[op]


def _stage_sql(stage: str, life: LifecycleConfig, at: datetime) -> ColumnElement[bool]:
    last, first = profiles.c.last_order_at, profiles.c.first_order_at
    bought = profiles.c.order_count > 0
    new = and_(bought, profiles.c.order_count == 1, _days_since(first, "lte", life.new_days, at))
    if stage == "prospect":
        return profiles.c.order_count == 0
    if stage == "new":
        return new
    old = and_(bought, not_(new))
    bands = {
        "active": (None, life.active_days),
        "at_risk": (life.active_days, life.at_risk_days),
        "lapsed": (life.at_risk_days, life.lapsed_days),
        "churned": (life.lapsed_days, None),
    }
    low, high = bands[stage]
    parts = [old]
    if low is not None:
        parts.append(_days_since(last, "gt", low, at))
    if high is not None:
        parts.append(_days_since(last, "lte", high, at))
    return and_(*parts)


def _trait_sql(rule: TraitCond) -> ColumnElement[bool]:
    element = profiles.c.traits[rule.trait]
    if rule.op == "exists":
        exists: ColumnElement[bool] = element.as_string().is_not(None)
        return exists
    sample = rule.value[0] if isinstance(rule.value, list) and rule.value else rule.value
    if isinstance(sample, bool):
        return _compare_sql(element.as_boolean(), rule.op, rule.value)
    if isinstance(sample, int | float):
        return _compare_sql(element.as_float(), rule.op, rule.value)
    if rule.op in ("gt", "gte", "lt", "lte"):
        return false()
    values = [str(v) for v in rule.value] if isinstance(rule.value, list) else str(rule.value)
    return _compare_sql(element.as_string(), rule.op, values)


def _event_sql(rule: EventCond, dialect: str, at: datetime) -> ColumnElement[bool]:
    """Profiles with at least ``min_count`` such events in the window: one pass over the
    window's events of that name (index ``ix_events_name_ts``), not one probe per profile."""
    since = at - timedelta(days=rule.within_days)
    query = select(events.c.profile_id).where(
        events.c.name == rule.event,
        events.c.ts >= since,
        events.c.profile_id.is_not(None),
    )
    for key, value in rule.where.items():
        prop = _property_sql(key, dialect)
        query = query.where(func.lower(func.trim(prop)) == value.strip().lower())
    if rule.min_count > 1:
        query = query.group_by(events.c.profile_id).having(func.count() >= rule.min_count)
    return profiles.c.profile_id.in_(query)


def _property_sql(key: str, dialect: str) -> Any:
    if dialect == "postgresql":
        return cast(events.c.payload, JSONB)["properties"][key].astext
    return func.json_extract(events.c.payload, f"$.properties.{key}")


def segments_of(facts: Facts, segments: Iterable[Segment], config: ProjectConfig) -> list[str]:
    return sorted(s.name for s in segments if matches(s.rule, facts, config))
