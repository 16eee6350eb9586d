"""Identity resolution with Splink on DuckDB: standardised matching keys, a
Fellegi–Sunter model trained without labels (u by random sampling, m by EM, term
frequency adjustments on names, phones and addresses), deterministic links on ids, and
clusters by connected components.

Works on plain DataFrames so the same engine serves `guanxi dedupe FILE` (no database)
and the live customer table (see resolution.py)."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from guanxi.dataquality.standardize import (
    parse_addresses,
    parse_date,
    person_name,
    to_halfwidth,
    to_simplified,
)

FIELDS = ("given_name", "family_name", "full_name", "email", "phone", "birthday", "address",
          "street", "city", "postcode", "region", "external_id")

# Probabilities: at or above AUTO pairs are merged without asking; between REVIEW and
# AUTO they wait in the review queue. CLUSTER is what `guanxi dedupe FILE` links at.
AUTO_THRESHOLD = 0.99
REVIEW_THRESHOLD = 0.80
CLUSTER_THRESHOLD = 0.90
EM_MIN_RECORDS = 2000  # fewer records: keep the m priors
U_MIN_RECORDS = 200  # fewer records: keep the u priors, no term-frequency adjustments

Progress = Callable[[str], None]


def _noop(_message: str) -> None:
    return None


# --- standardised matching keys ----------------------------------------------------

def _mapped(series: pd.Series, fn: Callable[[str], Any]) -> pd.Series:
    """Apply fn once per distinct value: customer data repeats a lot (cities, surnames)."""
    values = series.dropna().unique()
    lookup = {v: fn(v) for v in values}
    return series.map(lookup)


def _text_key(value: str) -> str | None:
    key = re.sub(r"[\s\-_.,#'\"()/]+", " ", to_simplified(to_halfwidth(value)).lower()).strip()
    return key or None


_DIGITS = re.compile(r"\D+")


def phone_key(value: str, region: str = "CN") -> str | None:
    """Digits of the E.164 form. Chinese numbers take a fast path; others go through
    phonenumbers; what cannot be parsed keeps its digits, so typos still compare."""
    raw = to_halfwidth(value).strip()
    digits = _DIGITS.sub("", raw)
    if not digits:
        return None
    if raw.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif region == "CN" and len(digits) == 11 and digits[0] == "1":
        return "86" + digits
    elif region == "CN" and len(digits) == 13 and digits.startswith("86"):
        return digits
    else:
        import phonenumbers

        try:
            parsed = phonenumbers.parse(raw, region)
            return f"{parsed.country_code}{parsed.national_number}"
        except phonenumbers.NumberParseException:
            return digits
    return digits


def email_key(value: str) -> str | None:
    key = to_halfwidth(value).strip().lower()
    return key if "@" in key else (key or None)


def _date_key(value: Any) -> str | None:
    try:
        return parse_date(value).isoformat()
    except Exception:  # an unreadable date is simply unknown for matching
        return None


def standardize_records(df: pd.DataFrame, *, id_column: str = "id",
                        region: str = "CN") -> pd.DataFrame:
    """Turn columns named after FIELDS into the matching keys the model compares.
    Display values are not touched: these keys exist only for matching."""
    n = len(df)
    out = pd.DataFrame({"unique_id": df[id_column].astype(str).to_numpy()})
    cols = {c: df[c].astype("string").replace({"": pd.NA}).str.strip().astype(object)
            .where(lambda s: s.notna(), None) for c in FIELDS if c in df.columns}

    if any(c in cols for c in ("full_name", "family_name", "given_name")):
        empty = pd.Series([None] * n, dtype=object)
        triples = pd.Series(list(zip(cols.get("full_name", empty).fillna("").to_numpy(),
                                     cols.get("family_name", empty).fillna("").to_numpy(),
                                     cols.get("given_name", empty).fillna("").to_numpy(),
                                     strict=True)), dtype=object)
        names = _mapped(triples, lambda t: person_name(*t))
        out["family_key"] = [p.family_key or None for p in names]
        out["given_key"] = [p.given_key or None for p in names]
        out["family_hanzi"] = [to_simplified(p.family) if p.chinese and p.family else None
                               for p in names]
        out["given_hanzi"] = [to_simplified(p.given) if p.chinese and p.given else None
                              for p in names]
    if "email" in cols:
        out["email"] = _mapped(cols["email"], email_key).to_numpy()
    if "phone" in cols:
        out["phone"] = _mapped(cols["phone"], lambda v: phone_key(v, region)).to_numpy()
    if "birthday" in cols:
        out["birthday"] = _mapped(cols["birthday"], _date_key).to_numpy()
    address_parts: dict[str, pd.Series] = {}
    if "address" in cols:
        distinct = list(cols["address"].dropna().unique())
        parsed = dict(zip(distinct, parse_addresses(distinct), strict=True))
        for part, attr in (("region", "province"), ("city", "city"), ("street", "street")):
            lookup = {k: getattr(v, attr) or None for k, v in parsed.items()}
            address_parts[part] = cols["address"].map(lookup)
    for part in ("street", "city", "region"):
        series = cols.get(part)
        if part in address_parts:
            series = address_parts[part] if series is None else series.fillna(
                address_parts[part])
        if series is not None:
            out[part] = _mapped(series, _text_key).to_numpy()
    if "postcode" in cols:
        out["postcode"] = _mapped(cols["postcode"], lambda v: _DIGITS.sub(
            "", to_halfwidth(v)) or _text_key(v)).to_numpy()
    if "external_id" in cols:
        out["external_id"] = _mapped(cols["external_id"], _text_key).to_numpy()
    return out.replace({np.nan: None})


# --- the model ---------------------------------------------------------------------

def _has(df: pd.DataFrame, column: str) -> bool:
    return column in df.columns and bool(df[column].notna().any())


def _comparisons(df: pd.DataFrame, *, small: bool = False) -> list[Any]:
    """The comparisons for the columns the data has. Each level carries priors: m (how
    often a true duplicate looks like this) and u (how often two different people do),
    the last pair for 'anything else'. On large data u is measured by random sampling
    and EM refines m from the prior; small data, too little for either, keeps the priors
    and skips term-frequency adjustments (a handful of rows says nothing about how
    common a name is)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    tf = not small

    def custom(name: str, null_column: str, levels: list[tuple[Any, float, float]],
               else_m: float) -> Any:
        kept = [(level, m, u) for level, m, u in levels if level is not None]
        m_total = sum(m for _lv, m, _u in kept) + else_m
        u_else = 1 - sum(u for _lv, _m, u in kept)
        return cl.CustomComparison(
            output_column_name=name,
            comparison_levels=[cll.NullLevel(null_column), *(lv for lv, _m, _u in kept),
                               cll.ElseLevel()],
        ).configure(m_probabilities=[m / m_total for _lv, m, _u in kept] + [
            else_m / m_total], u_probabilities=[u for _lv, _m, u in kept] + [u_else])

    def exact(column: str) -> Any:
        return cll.ExactMatchLevel(column, term_frequency_adjustments=tf)

    def hanzi(column: str) -> Any:
        # Same characters beat same pinyin (张伟 and 章伟 sound alike, are two people).
        return exact(column) if _has(df, column) else None

    comparisons: list[Any] = []
    if _has(df, "family_key"):
        comparisons.append(custom("family_name", "family_key", [
            (hanzi("family_hanzi"), 0.55, 0.02),
            (exact("family_key"), 0.35, 0.02),
            (cll.ColumnsReversedLevel("family_key", "given_key"), 0.03, 0.0005),
            (cll.JaroWinklerLevel("family_key", 0.92), 0.03, 0.01),
            (cll.JaroWinklerLevel("family_key", 0.80), 0.02, 0.05),
        ], else_m=0.02))
    if _has(df, "given_key"):
        comparisons.append(custom("given_name", "given_key", [
            (hanzi("given_hanzi"), 0.5, 0.001),
            (exact("given_key"), 0.38, 0.002),
            (cll.ColumnsReversedLevel("given_key", "family_key"), 0.03, 0.0005),
            (cll.JaroWinklerLevel("given_key", 0.92), 0.05, 0.005),
            (cll.JaroWinklerLevel("given_key", 0.80), 0.03, 0.03),
        ], else_m=0.02))
    if _has(df, "birthday"):
        # Levels: exact, one typo, within a month, a year, ten years, else.
        comparisons.append(cl.DateOfBirthComparison(
            "birthday", input_is_string=True, datetime_format="%Y-%m-%d",
            datetime_thresholds=[1, 1, 10], datetime_metrics=["month", "year", "year"],
        ).configure(m_probabilities=[0.86, 0.07, 0.02, 0.02, 0.02, 0.01],
                    u_probabilities=[0.00005, 0.0005, 0.003, 0.03, 0.3, 0.66645]))
    if _has(df, "email"):
        comparisons.append(custom("email", "email", [
            (exact("email"), 0.8, 0.00001),
            (cll.CustomLevel("split_part(email_l, '@', 1) = split_part(email_r, '@', 1)",
                             "same user name"), 0.08, 0.0001),
            (cll.DamerauLevenshteinLevel("email", 2), 0.06, 0.0005),
        ], else_m=0.06))
    if _has(df, "phone"):
        comparisons.append(custom("phone", "phone", [
            (exact("phone"), 0.8, 0.0001),  # households share phones
            (cll.DamerauLevenshteinLevel("phone", 1), 0.08, 0.00005),
            (cll.DamerauLevenshteinLevel("phone", 2), 0.03, 0.0005),
        ], else_m=0.09))
    if _has(df, "external_id"):
        comparisons.append(custom("external_id", "external_id", [
            (cll.ExactMatchLevel("external_id"), 0.85, 0.000001),
            (cll.DamerauLevenshteinLevel("external_id", 1), 0.06, 0.00001),
            (cll.DamerauLevenshteinLevel("external_id", 2), 0.03, 0.0002),
        ], else_m=0.06))
    if _has(df, "street"):
        comparisons.append(custom("street", "street", [
            (exact("street"), 0.65, 0.0005),
            (cll.JaroWinklerLevel("street", 0.90), 0.1, 0.005),
            (cll.JaroWinklerLevel("street", 0.75), 0.05, 0.05),
        ], else_m=0.2))  # people move
    for column, u in (("postcode", 0.01), ("city", 0.02), ("region", 0.1)):
        if _has(df, column):
            comparisons.append(cl.ExactMatch(column).configure(
                term_frequency_adjustments=tf, m_probabilities=[0.85, 0.15],
                u_probabilities=[u, 1 - u]))
    return comparisons


def _blocking_rules(df: pd.DataFrame) -> list[Any]:
    from splink import block_on

    rules: list[Any] = []
    for column in ("external_id", "email", "phone"):
        if _has(df, column):
            rules.append(block_on(column))
    if _has(df, "family_key") and _has(df, "given_key"):
        rules.append(block_on("family_key", "given_key"))
        rules.append("l.family_key = r.given_key and l.given_key = r.family_key")
        if _has(df, "birthday"):
            rules.append(block_on("given_key", "birthday"))
            rules.append(block_on("family_key", "birthday"))
        for column in ("postcode", "street"):
            if _has(df, column):
                rules.append(block_on("family_key", column))
                rules.append(block_on("given_key", column))
    # Both names mistyped: two other fields agreeing still brings the pair together.
    supporting = [c for c in ("birthday", "street", "postcode", "city") if _has(df, c)]
    for i, a in enumerate(supporting):
        for b in supporting[i + 1:]:
            if {a, b} != {"postcode", "city"}:  # the same fact twice
                rules.append(block_on(a, b))
    if not rules and _has(df, "birthday"):
        rules.append(block_on("birthday"))
    return rules


def _deterministic_rules(df: pd.DataFrame) -> list[Any]:
    from splink import block_on

    rules: list[Any] = [block_on(c) for c in ("external_id", "email") if _has(df, c)]
    if _has(df, "family_key") and _has(df, "given_key"):
        for column in ("birthday", "phone"):
            if _has(df, column):
                rules.append(block_on("family_key", "given_key", column))
    return rules


def _em_rules(df: pd.DataFrame) -> list[Any]:
    """Two EM passes that between them train every comparison: one blocked on the name
    (trains the rest), one on something else (trains the name)."""
    from splink import block_on

    rules: list[Any] = []
    if _has(df, "family_key") and _has(df, "given_key"):
        rules.append(block_on("family_key", "given_key"))
    for columns in (("birthday",), ("phone",), ("email",), ("postcode", "street")):
        if all(_has(df, c) for c in columns):
            rules.append(block_on(*columns))
            break
    return rules


@dataclass
class MatchResult:
    """Scored pairs (with each field's log2 Bayes factor) and clusters."""

    pairs: pd.DataFrame  # unique_id_l, unique_id_r, match_probability, match_weight, ...
    clusters: pd.DataFrame  # unique_id, cluster_id
    fields: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _connected_components(ids: np.ndarray, left: np.ndarray, right: np.ndarray
                          ) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index = pd.Index(ids)
    li, ri = index.get_indexer(left), index.get_indexer(right)
    n = len(ids)
    graph = coo_matrix((np.ones(len(li), dtype=np.int8), (li, ri)), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    # Name each cluster after its first record, so ids are stable and readable.
    first = pd.Series(ids).groupby(labels).transform("first")
    return first.to_numpy()


def find_matches(frames: pd.DataFrame | Sequence[pd.DataFrame], *,
                 link_type: str = "dedupe_only",
                 threshold: float = REVIEW_THRESHOLD,
                 cluster_threshold: float = CLUSTER_THRESHOLD,
                 progress: Progress = _noop, seed: int = 42) -> MatchResult:
    """Score candidate pairs of standardised records and cluster them.

    `frames` are outputs of standardize_records: one for dedupe, two for link_only."""
    import time

    import duckdb
    from splink import DuckDBAPI, Linker, SettingsCreator
    from splink.internals.exceptions import SplinkException

    timings: dict[str, float] = {}
    started = time.perf_counter()
    tables = [frames] if isinstance(frames, pd.DataFrame) else list(frames)
    everything = pd.concat(tables, ignore_index=True)
    small = len(everything) < U_MIN_RECORDS
    comparisons = _comparisons(everything, small=small)
    if not comparisons:
        raise ValueError("no comparable columns: map at least a name, email or phone")
    settings = SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=_blocking_rules(everything),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )
    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)
    registered = [db_api.register(t) for t in tables]
    logging.getLogger("splink").setLevel(logging.ERROR)
    linker = Linker(registered if len(registered) > 1 else registered[0], settings,
                    log_level=None)
    n_records = len(everything)
    progress("train")
    try:
        linker.training.estimate_probability_two_random_records_match(
            _deterministic_rules(everything), recall=0.7)
    except ValueError:  # a tiny table where the sure matches are most of the pairs
        linker._settings_obj._probability_two_random_records_match = 0.0
    prior = linker._settings_obj._probability_two_random_records_match
    if not 0 < prior < 0.5:
        # No sure matches to count (small or already clean data): assume one record in
        # a hundred has a duplicate rather than none or all.
        linker._settings_obj._probability_two_random_records_match = min(
            0.5, 0.02 / max(1, n_records - 1))
    timings["prior_s"] = time.perf_counter() - started
    if not small:
        linker.training.estimate_u_using_random_sampling(
            max_pairs=float(min(5e6, max(2e5, n_records * 5))), seed=seed)
    timings["u_s"] = time.perf_counter() - started
    # Below a few thousand records EM has too few pairs to learn from: keep the priors.
    em_rules = _em_rules(everything) if n_records >= EM_MIN_RECORDS else []
    for i, rule in enumerate(em_rules):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=float(max(1e5, min(2e6, n_records * 2))),
                fix_probability_two_random_records_match=True)
        except (ValueError, ZeroDivisionError, SplinkException) as exc:
            # Small or very clean data can leave EM nothing to separate; the m values
            # then stay at Splink's defaults for that session.
            logging.getLogger(__name__).info("EM session %s skipped: %s", i, exc)
        timings[f"em{i}_s"] = time.perf_counter() - started
    timings["train_s"] = time.perf_counter() - started
    progress("predict")
    predicted = linker.inference.predict(threshold_match_probability=threshold)
    pairs = predicted.as_pandas_dataframe()
    timings["predict_s"] = time.perf_counter() - started - timings["train_s"]
    pairs = _apply_name_guard(pairs, auto_threshold=cluster_threshold)
    progress("cluster")
    if "external_id" in everything.columns:
        pairs = _with_deterministic_links(pairs, everything)
    strong = pairs[pairs["match_probability"] >= cluster_threshold]
    ids = everything["unique_id"].to_numpy()
    clusters = pd.DataFrame({
        "unique_id": ids,
        "cluster_id": _connected_components(ids, strong["unique_id_l"].to_numpy(),
                                            strong["unique_id_r"].to_numpy()),
    })
    timings["total_s"] = time.perf_counter() - started
    names = [c.output_column_name for c in linker._settings_obj.comparisons]
    con.close()
    return MatchResult(pairs=pairs, clusters=clusters, fields=names, timings=timings)


def _apply_name_guard(pairs: pd.DataFrame, *, auto_threshold: float) -> pd.DataFrame:
    """Household members share a phone, an address and often the surname, and those
    agreements are not independent the way Fellegi–Sunter assumes, so together they can
    outweigh a different given name. A pair whose given names disagree entirely (not
    just swapped with the family name) and that agrees on nothing personal (birthday,
    email, an external id) is therefore not linked on the model's word alone: its
    probability is capped just below the linking threshold, which leaves it for a
    person to review when the model was confident."""
    pairs = pairs.copy()
    if pairs.empty or "gamma_given_name" not in pairs.columns:
        pairs["name_conflict"] = False
        return pairs
    swapped = ((pairs["family_key_l"] == pairs["given_key_r"])
               & (pairs["given_key_l"] == pairs["family_key_r"])).fillna(False)
    personal = pd.Series(False, index=pairs.index)
    for column in ("birthday", "email"):
        if f"{column}_l" in pairs.columns:
            personal |= (pairs[f"{column}_l"] == pairs[f"{column}_r"]).fillna(False)
    if "gamma_external_id" in pairs.columns:
        personal |= pairs["gamma_external_id"] >= 2  # equal or one character apart
    conflict = (pairs["gamma_given_name"] == 0) & ~swapped & ~personal
    pairs["name_conflict"] = conflict.to_numpy()
    pairs["model_probability"] = pairs["match_probability"]
    pairs.loc[conflict, "match_probability"] = pairs.loc[conflict, "match_probability"].clip(
        upper=auto_threshold - 1e-6)
    return pairs


def _with_deterministic_links(pairs: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Equal external ids are the same customer whatever the other fields say."""
    keyed = records[records["external_id"].notna()][["unique_id", "external_id"]]
    joined = keyed.merge(keyed, on="external_id", suffixes=("_l", "_r"))
    joined = joined[joined["unique_id_l"] < joined["unique_id_r"]]
    if joined.empty:
        return pairs
    seen = set(zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True))
    extra = joined[[(a, b) not in seen and (b, a) not in seen
                    for a, b in zip(joined["unique_id_l"], joined["unique_id_r"],
                                    strict=True)]]
    if extra.empty:
        return pairs
    add = pd.DataFrame({"unique_id_l": extra["unique_id_l"].to_numpy(),
                        "unique_id_r": extra["unique_id_r"].to_numpy(),
                        "match_probability": 1.0, "match_weight": math.inf})
    return pd.concat([pairs, add], ignore_index=True)


# --- evaluation --------------------------------------------------------------------

def pairs_from_clusters(ids: Sequence[str], cluster_ids: Sequence[str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = {}
    for record, cluster in zip(ids, cluster_ids, strict=True):
        groups.setdefault(cluster, []).append(record)
    out: set[tuple[str, str]] = set()
    for members in groups.values():
        members.sort()
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                out.add((a, b))
    return out


def precision_recall_f1(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]
                        ) -> dict[str, float]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_positives": tp,
            "predicted_pairs": len(predicted), "true_pairs": len(truth)}
