"""Splink, as identity matching uses it: the comparisons and blocking rules, training by EM
on the workspace's own records, scoring (all records, or new ones against the rest) and
clustering. DuckDB runs in-process; nothing is downloaded.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

# Candidate pairs: records that agree on one of these (others are never compared).
BLOCKING = (
    ("email",),
    ("phone",),
    ("email_user",),
    ("last_name", "dob"),
    ("last_name", "postcode"),
    ("first_name", "dob"),
    ("dob", "postcode"),
    ("last_name", "substr(first_name, 1, 1)", "city"),
)
# Deterministic rules that almost only hold for true matches: they set the prior. Profiles that
# share an email or a phone number are already one profile (exact identifiers), so names with a
# date of birth or a postcode do this work on a workspace's profiles.
DETERMINISTIC = (
    ("email",),
    ("first_name", "last_name", "dob"),
    ("last_name", "dob", "postcode"),
    ("first_name", "last_name", "postcode"),
)


# Columns whose exact agreement counts for less when the value is common ("Smith").
TERM_FREQUENCIES = ("last_name", "email")


@dataclass
class Pair:
    left: str
    right: str
    probability: float
    weight: float
    evidence: dict[str, float]  # comparison -> its match weight (log2 Bayes factor)

    def strongest(self) -> str:
        """The comparison that weighed most for the pair, e.g. ``email +13.2``."""
        if not self.evidence:
            return ""
        name = max(self.evidence, key=lambda k: self.evidence[k])
        return f"{name} {self.evidence[name]:+.1f}"

    def disagrees(self, name: str) -> bool:
        return self.evidence.get(name, 0.0) < 0

    def agrees(self, name: str) -> bool:
        return self.evidence.get(name, 0.0) > 0


def settings(prior: float = 1e-4) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    first = cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name"),
            cll.ArrayIntersectLevel("first_forms", min_intersection=1).configure(
                label_for_charts="nickname of the same name"
            ),
            cll.JaroWinklerLevel("first_name", 0.92),
            cll.JaroWinklerLevel("first_name", 0.8),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.And(cll.NullLevel("street"), cll.NullLevel("postcode")),
            cll.And(cll.ExactMatchLevel("street"), cll.ExactMatchLevel("postcode")).configure(
                label_for_charts="same street and postcode"
            ),
            cll.JaroWinklerLevel("street", 0.9).configure(label_for_charts="similar street"),
            cll.ExactMatchLevel("postcode").configure(label_for_charts="same postcode"),
            cll.ExactMatchLevel("city").configure(label_for_charts="same city"),
            cll.ElseLevel(),
        ],
    )
    near = [
        cl.CustomComparison(
            output_column_name=name,
            comparison_levels=[
                cll.NullLevel(name),
                cll.ExactMatchLevel(name),
                cll.DamerauLevenshteinLevel(name, 1).configure(
                    label_for_charts="one character off"
                ),
                cll.ElseLevel(),
            ],
        )
        for name in ("phone", "dob")
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=prior,
        unique_id_column_name="unique_id",
        comparisons=[
            first,
            cl.NameComparison("last_name", jaro_winkler_thresholds=[0.92, 0.88]),
            cl.EmailComparison("email"),
            *near,
            address,
        ],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in BLOCKING],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


# DuckDB spills to disk past this, so a million profiles match in a few GB of memory.
DUCKDB_MEMORY = "1500MB"


def _api() -> Any:
    import duckdb
    from splink import DuckDBAPI

    connection = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY})
    return DuckDBAPI(connection=connection)


def train(data: pa.Table, *, max_pairs: float = 2e6, seed: int = 1) -> dict[str, Any]:
    """A model (Splink's JSON settings with m and u values) estimated on ``data``: the prior
    from deterministic rules, u from random pairs, m by expectation maximisation in sessions
    that each hold some fields fixed."""
    from splink import Linker, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    api = _api()
    linker = Linker(api.register(data), settings())
    prior = 0.0
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*rule) for rule in DETERMINISTIC], recall=0.7
        )
        prior = float(linker.misc.save_model_to_json()["probability_two_random_records_match"])
    except Exception as exc:  # no pair agrees on any rule: fall back to the guess below
        logging.getLogger("monogram.identity").info("prior not estimated: %s", exc)
    if not 0 < prior < 1:  # about one duplicate a record at most: a cautious prior
        prior = 1.0 / max(2, data.num_rows)
    linker = Linker(api.register(data), settings(prior))
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in (("email",), ("last_name", "dob"), ("postcode",)):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), fix_u_probabilities=True
            )
        except Exception as exc:  # a session without pairs teaches nothing: the others do
            logging.getLogger("monogram.identity").info("EM on %s skipped: %s", rule, exc)
    model: dict[str, Any] = linker.misc.save_model_to_json()
    return model


def score(
    model: dict[str, Any],
    data: pa.Table,
    *,
    threshold: float,
    new_ids: list[str] | None = None,
) -> list[Pair]:
    """Candidate pairs at or above ``threshold``: among all of ``data``, or (``new_ids``) only
    pairs with at least one new record, scored against every record."""
    from splink import Linker

    api = _api()
    linker = Linker(api.register(data), copy.deepcopy(model))  # Splink keeps what it is given
    if new_ids is None:
        return _pairs(linker.inference.predict(threshold_match_probability=threshold))
    wanted = set(new_ids)
    mask = pa.array([uid in wanted for uid in data.column("unique_id").to_pylist()])
    new, old = data.filter(mask), data.filter(pa.compute.invert(mask))
    for column in TERM_FREQUENCIES:  # how common each name is, over every record
        linker.table_management.compute_tf_table(column)
    left = api.register(new)
    frames = [linker.inference.predict_within(left, threshold_match_probability=threshold)]
    if old.num_rows:
        frames.append(
            linker.inference.predict_between(
                left, api.register(old), threshold_match_probability=threshold
            )
        )
    return [pair for frame in frames for pair in _pairs(frame)]


def _pairs(frame: Any) -> list[Pair]:
    """The scored pairs, read column by column from Arrow (no row dictionaries)."""
    scored = frame.as_pyarrow_table()
    weights = [name for name in scored.column_names if name.startswith("mw_")]
    columns = {
        name: scored.column(name).to_pylist()
        for name in ("unique_id_l", "unique_id_r", "match_probability", "match_weight", *weights)
    }
    out = []
    for index in range(scored.num_rows):
        evidence: dict[str, float] = {}
        for key in weights:
            value = columns[key][index]
            if value is not None:
                name = key[3:].removeprefix("tf_adj_")
                evidence[name] = round(evidence.get(name, 0.0) + float(value), 2)
        left, right = sorted(
            (str(columns["unique_id_l"][index]), str(columns["unique_id_r"][index]))
        )
        probability = float(columns["match_probability"][index])
        out.append(Pair(left, right, probability, float(columns["match_weight"][index]), evidence))
    return out
