"""The schema, as SQLAlchemy Core tables. Alembic migrations in ``migrations/`` create it.

Timestamps are timezone-aware UTC. Event payloads are stored as the JSON text that was
accepted (with ``messageId``, ``timestamp`` and ``receivedAt`` filled in), so the log can be
replayed to rebuild identities and profiles.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Ts = UTCDateTime()
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Seq = BigInteger().with_variant(Integer(), "sqlite")
ProfileId = String(40)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("revoked_at", Ts),
)

events = Table(
    "events",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("name", String(255)),
    Column("user_id", String(512)),
    Column("anonymous_id", String(512)),
    Column("profile_id", ProfileId, nullable=False),
    Column("ts", Ts, nullable=False),
    Column("received_at", Ts, nullable=False),
    Column("source", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_events_profile_ts", "profile_id", "ts"),
    # Segments with event rules read one window of one event name across the whole base.
    Index("ix_events_name_ts", "name", "ts", "profile_id"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("received_at", Ts, nullable=False),
    Column("source", String(40), nullable=False),
    Column("message_id", String(255)),
    Column("errors", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("replayed_at", Ts),
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("type", String(64), primary_key=True),
    Column("value", String(512), primary_key=True),
    Column("profile_id", ProfileId, nullable=False, index=True),
    Column("first_seen", Ts, nullable=False),
    Column("last_seen", Ts, nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("profile_id", ProfileId, primary_key=True),
    Column("created_at", Ts, nullable=False),
    Column("updated_at", Ts, nullable=False),
    # The latest event folded in, by (timestamp, messageId): tells a late event from a new one.
    Column("watermark_ts", Ts),
    Column("watermark_id", String(255)),
    # Set once a merge involving this profile was refused: late events then replay the log.
    Column("conflicted", Boolean, nullable=False, default=False),
    Column("state", Text, nullable=False),
    Column("traits", JSON, nullable=False),
    Column("order_count", Integer, nullable=False, default=0),
    Column("lifetime_value", Float, nullable=False, default=0.0),
    Column("first_order_at", Ts),
    Column("last_order_at", Ts),
    Column("first_seen_at", Ts),
    Column("last_seen_at", Ts),
    # Tagged sets that segments match with LIKE on every backend: "|category:running|...|"
    # (favourite categories and brands, top 3, and stated interests) and "|email_marketing|...|"
    # (purposes with consent granted). The full detail lives in ``state``.
    Column("facets", Text, nullable=False, default="|"),
    Column("consented", Text, nullable=False, default="|"),
)

identity_merges = Table(
    "identity_merges",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("at", Ts, nullable=False),
    # The profile that holds both sides now (follows later merges), for lookups and erasure.
    Column("profile_id", ProfileId, nullable=False, index=True),
    Column("winner", ProfileId, nullable=False),
    Column("loser", ProfileId, nullable=False),
    Column("winner_identifiers", Text, nullable=False),
    Column("loser_identifiers", Text, nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reverted_at", Ts),
)

identity_refusals = Table(
    "identity_refusals",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("at", Ts, nullable=False),
    Column("profile_id", ProfileId, nullable=False, index=True),
    Column("other_profile_id", ProfileId, nullable=False, index=True),
    Column("identifier", String(600), nullable=False, index=True),
    Column("other_identifier", String(600), nullable=False, index=True),
    Column("message_id", String(255), nullable=False),
    Column("reason", Text, nullable=False),
)

# A human decision that two sets of identifiers are different people (from an unmerge).
identity_splits = Table(
    "identity_splits",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("at", Ts, nullable=False),
    Column("merge_id", BigInteger),
    Column("side_a", Text, nullable=False),
    Column("side_b", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("category", String(200), nullable=False),
    Column("brand", String(200)),
    Column("price", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("description", Text, nullable=False),
    Column("url", String(2000)),
    Column("image", String(2000)),
    Column("updated_at", Ts, nullable=False),
)

product_stats = Table(
    "product_stats",
    metadata,
    Column("product_id", String(128), primary_key=True),
    Column("views", BigInteger, nullable=False, default=0),
    Column("purchases", BigInteger, nullable=False, default=0),
)

# Generated text by (model, prompt, options, seed): the same request is never generated twice.
generations = Table(
    "generations",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("model", String(300), nullable=False),
    Column("prompt_hash", String(64), nullable=False),
    Column("options", Text, nullable=False),
    Column("texts", Text, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("created_at", Ts, nullable=False),
)

# A written message (draft) and everything needed to explain it later. Delivery adds its own
# records; erasing a customer removes these with the rest.
messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", Ts, nullable=False),
    Column("profile_id", ProfileId, nullable=False, index=True),
    Column("customer", String(600), nullable=False),
    Column("placement", String(64), nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # ready | review | rejected
    Column("elements", Text, nullable=False),
    Column("provenance", Text, nullable=False),
)

# One element a person must look at before the message may go out.
reviews = Table(
    "reviews",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("created_at", Ts, nullable=False),
    Column("message_id", String(40), nullable=False, index=True),
    Column("profile_id", ProfileId, nullable=False, index=True),
    Column("placement", String(64), nullable=False),
    Column("element", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | edited | rejected
    Column("reasons", Text, nullable=False),
    Column("original", Text, nullable=False),
    Column("edited", Text),
    Column("reviewer", String(200)),
    Column("note", Text),
    Column("decided_at", Ts),
)

# Reviewed edits promoted into a placement's library of approved variants.
approved_variants = Table(
    "approved_variants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", Ts, nullable=False),
    Column("placement", String(64), nullable=False),
    Column("element", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("review_id", BigInteger),
)

# Every choice of strategy: what was possible, what was chosen, with what probability.
decisions = Table(
    "decisions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", Ts, nullable=False),
    Column("profile_id", ProfileId, nullable=False, index=True),
    Column("placement", String(64), nullable=False),
    Column("campaign", String(64), index=True),
    Column("strategies", Text, nullable=False),
    Column("chosen", String(64)),
    Column("probability", Float),
    Column("policy", String(64), nullable=False),
    Column("features", Text, nullable=False),
    Column("holdout", Boolean, nullable=False, default=False),
    Column("message_id", String(40)),
    Column("rewarded_at", Ts),
    Column("reward", Float),
    Column("probabilities", Text),  # JSON {strategy: probability} when the policy chose
    Column("reward_source", String(16)),  # outcomes (learn update) or api (reward call)
)

# One row per (campaign, customer, placement): the unit a campaign run plans, writes and sends
# exactly once. Its state moves forward only.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("campaign", String(64), nullable=False, index=True),
    Column("profile_id", ProfileId, nullable=False, index=True),
    Column("placement", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    Column("decision_id", String(40)),
    Column("message_id", String(40)),
    Column("channel", String(300)),
    Column("recipient", String(600)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("detail", Text),
    Column("created_at", Ts, nullable=False),
    Column("updated_at", Ts, nullable=False),
    Column("sent_at", Ts),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("type", String(64), primary_key=True),
    Column("value", String(512), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("created_at", Ts, nullable=False),
)

# The learned policy per placement, versioned: each update writes the next version.
policy_states = Table(
    "policy_states",
    metadata,
    Column("placement", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", Ts, nullable=False),
)

# Every saved version of a policy (the latest few hundred), so a decision's policy version can
# be looked up and audited.
policy_history = Table(
    "policy_history",
    metadata,
    Column("placement", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("backend", String(16), nullable=False),
    Column("state", Text, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("created_at", Ts, nullable=False),
)

# Signed-in console sessions: the cookie's value is only stored hashed; each session has its
# own CSRF token and an expiry.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("key_id", String(40), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("expires_at", Ts, nullable=False),
)

# What serves per placement when someone chose it (the console's policy switch); without a row
# the placement follows ``learning.policy``.
policy_modes = Table(
    "policy_modes",
    metadata,
    Column("placement", String(64), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("changed_at", Ts, nullable=False),
)

# Creatives, content-addressed (``<sha256>.<ext>``): in the store, so every worker of a cluster
# writes them where the server that serves them reads them, and erasure reaches them.
creatives = Table(
    "creatives",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("format", String(8), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", Ts, nullable=False),
)

# What a render with given inputs gave (the key hashes every input): identical inputs give the
# stored creative without rendering again.
creative_renders = Table(
    "creative_renders",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("name", String(80), nullable=False, index=True),
    Column("rendition", JSON, nullable=False),
)

# Probabilistic identity matching: each trained model (Splink settings with m and u values), the
# pairs it scored and what became of them, and each run (for incremental matching).
match_models = Table(
    "match_models",
    metadata,
    Column("version", Seq, primary_key=True, autoincrement=True),
    Column("created_at", Ts, nullable=False),
    Column("records", Integer, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("model", Text, nullable=False),
)

match_pairs = Table(
    "match_pairs",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("left_id", ProfileId, nullable=False),
    Column("right_id", ProfileId, nullable=False),
    # An identifier of each side, to find the profile again after later merges.
    Column("left_key", String(600), nullable=False),
    Column("right_key", String(600), nullable=False),
    Column("probability", Float, nullable=False),
    Column("evidence", JSON, nullable=False),
    # suggested | merged | rejected | refused (a merge guard) | conflict (hard identifiers)
    Column("status", String(16), nullable=False, index=True),
    Column("model_version", Integer, nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("decided_at", Ts),
    Column("decided_by", String(200)),
    Column("note", Text),
    UniqueConstraint("left_id", "right_id", name="uq_match_pairs_sides"),
)

match_runs = Table(
    "match_runs",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("at", Ts, nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("records", Integer, nullable=False),
    Column("pairs", Integer, nullable=False),
    Column("merged", Integer, nullable=False),
    Column("suggested", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
)

# Learning arms (a strategy, with its prompt variant) retired in a segment because they were
# worse with high confidence; the evidence is kept. A revived arm gets ``revived_at``.
retired_arms = Table(
    "retired_arms",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("placement", String(64), nullable=False, index=True),
    Column("strategy", String(64), nullable=False),
    Column("segment", String(300), nullable=False),
    Column("at", Ts, nullable=False),
    Column("by", String(200), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("revived_at", Ts),
)

# Exemplars learned from reviewed edits and rewarded copy: versioned sets, one active.
exemplar_sets = Table(
    "exemplar_sets",
    metadata,
    Column("version", Seq, primary_key=True, autoincrement=True),
    Column("created_at", Ts, nullable=False),
    Column("by", String(200), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=False),
    Column("size", Integer, nullable=False),
)

learned_exemplars = Table(
    "learned_exemplars",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("version", Integer, nullable=False, index=True),
    Column("placement", String(64), nullable=False),
    Column("element", String(64), nullable=False),
    Column("segment", String(300), nullable=False),
    Column("text", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("source", String(16), nullable=False),  # review_edit | outcome
    Column("message_id", String(40), nullable=False),
    Column("profile_id", ProfileId, nullable=False, index=True),
)

# Prompt variants proposed from winners: checked offline, live once a person approves them.
variant_proposals = Table(
    "variant_proposals",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("placement", String(64), nullable=False),
    Column("element", String(64), nullable=False),
    Column("variant_id", String(24), nullable=False),
    Column("instruction", Text, nullable=False),
    Column("based_on", String(24)),
    Column("how", String(200), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # proposed | live | rejected
    Column("check", JSON),
    Column("created_at", Ts, nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", Ts),
    Column("note", Text),
)
