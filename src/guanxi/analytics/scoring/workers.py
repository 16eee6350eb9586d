"""Ranges across worker processes: each reads its ranges and keeps their facts, the
parent fits on what they send back, then each scores and writes its own ranges."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, connections

from guanxi.analytics.scoring.extract import read_range
from guanxi.analytics.scoring.facts import range_facts
from guanxi.analytics.scoring.fitting import FIT_COLUMNS, Fitted, _cutoff_frame, apply_models

CUTOFFS = ("train", "test")  # the churn model learns at one past cutoff, is tested at the other


@dataclass
class RangeFacts:
    facts: pd.DataFrame
    previous: dict[int, tuple[str, str]]   # customer id -> (stage, tier) before this run
    last_order_id: int


@dataclass
class RangeRead:
    """What a full run's first pass learns from one range."""

    lo: int
    extract: pd.DataFrame      # FIT_COLUMNS of every customer of the range
    buyers: dict[str, int]     # buyers at each churn cutoff


@dataclass
class RangeScored:
    """A range scored and written."""

    customers: int
    changed: int
    last_order_id: int


def facts_for_range(lo: int, hi: int, as_of: dt.datetime, rfm_days: int,
                    lifecycle_days: int) -> RangeFacts:
    """Read a customer-id range and compute its facts."""
    data = read_range(lo, hi, as_of)
    return RangeFacts(range_facts(data, as_of.timestamp(), rfm_days, lifecycle_days),
                      data.previous, data.last_order_id)


class RangeHolder:
    """The facts of the ranges one process has read, kept between the passes of a full
    run: read (what fitting needs goes back), sample (churn rows), score (apply, write)."""

    def __init__(self, as_of: dt.datetime, rfm_days: int, lifecycle_days: int) -> None:
        self.as_of, self.rfm_days, self.lifecycle_days = as_of, rfm_days, lifecycle_days
        self.held: dict[int, RangeFacts] = {}

    def read(self, lo: int, hi: int) -> RangeRead:
        part = facts_for_range(lo, hi, self.as_of, self.rfm_days, self.lifecycle_days)
        self.held[lo] = part
        return RangeRead(lo, part.facts[list(FIT_COLUMNS)],
                         {c: int(part.facts[f"{c}.recency_days"].notna().sum())
                          for c in CUTOFFS})

    def sample(self, lo: int, counts: dict[str, int], seed: int) -> dict[str, pd.DataFrame]:
        """`counts[cutoff]` of the range's buyers at each cutoff, drawn at random."""
        rng = np.random.default_rng([seed, lo])
        facts = self.held[lo].facts
        out = {}
        for cutoff in CUTOFFS:
            buyers = np.flatnonzero(facts[f"{cutoff}.recency_days"].notna().to_numpy())
            pick = np.sort(rng.choice(len(buyers), counts[cutoff], replace=False))
            out[cutoff] = _cutoff_frame(facts.iloc[buyers[pick]], cutoff)
        return out

    def score(self, lo: int, fitted: Fitted, write: Callable[..., int]) -> RangeScored:
        part = self.held.pop(lo)
        scores = apply_models(part.facts, fitted, self.as_of.timestamp())
        changed = write(scores, part.previous, self.as_of)
        return RangeScored(len(scores), changed, part.last_order_id)


def _serve(pipe: Any, ranges: list[tuple[int, int]], as_of: dt.datetime, rfm_days: int,
           lifecycle_days: int) -> None:
    """A worker process's life (forked: Django, its settings and the database it uses are
    the parent's; the parent closed its connections first, so this one opens its own):
    read its ranges, then answer the parent's requests for samples and for scoring until
    told to stop. Errors go back as text."""
    import traceback

    from guanxi.analytics.churn_model import predict_single_threaded

    try:
        predict_single_threaded()
        holder = RangeHolder(as_of, rfm_days, lifecycle_days)
        for lo, hi in ranges:
            pipe.send(("ok", holder.read(lo, hi)))
        while True:
            command, payload = pipe.recv()
            if command == "sample":
                for lo, counts, seed in payload:
                    pipe.send(("ok", (lo, holder.sample(lo, counts, seed))))
            elif command == "score":
                fitted, write = payload
                for lo in list(holder.held):
                    pipe.send(("ok", holder.score(lo, fitted, write)))
            else:
                return
    except BaseException:  # reported to the parent, which raises
        pipe.send(("error", traceback.format_exc()))
    finally:
        connection.close()
        pipe.close()


def _can_fork() -> bool:
    """Worker processes see only what is committed, through their own connections: not
    inside a transaction, nor for an in-memory SQLite database."""
    if any(c.in_atomic_block for c in connections.all(initialized_only=True)):
        return False
    return not (connection.vendor == "sqlite"
                and "memory" in str(connection.settings_dict["NAME"]))


class RangeWorkers:
    """A full run's ranges shared by `processes` worker processes, each holding the facts
    of the ranges it read until they are scored (each its own database connection); with
    one process, this process does it all. Use as a context manager."""

    def __init__(self, ranges: list[tuple[int, int]], as_of: dt.datetime, rfm_days: int,
                 lifecycle_days: int, processes: int) -> None:
        self.ranges = ranges
        self.local: RangeHolder | None = None
        self.pipes: list[Any] = []
        self.owner: dict[int, Any] = {}   # range start -> the pipe of the process holding it
        self.held: dict[Any, int] = {}    # pipe -> how many ranges its process holds
        self.procs: list[Any] = []
        self.processes = 1  # how many processes share the work
        if processes <= 1 or len(ranges) <= 1 or not _can_fork():
            self.local = RangeHolder(as_of, rfm_days, lifecycle_days)
            return
        import multiprocessing

        # Forked, not spawned: a child is this process, settings (the test database's
        # name included) and all, with no second django.setup(). Connections are closed
        # first so that no socket or SQLite handle is shared across the fork.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        for i in range(min(processes, len(ranges))):
            mine = ranges[i::processes]
            parent, child = context.Pipe()
            proc = context.Process(target=_serve, daemon=True, args=(
                child, mine, as_of, rfm_days, lifecycle_days))
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)
            self.owner.update({lo: parent for lo, _hi in mine})
            self.held[parent] = len(mine)
        self.processes = len(self.procs)

    def __enter__(self) -> RangeWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(BrokenPipeError, OSError):  # the worker is gone
                pipe.send(("stop", None))
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()

    def _answers(self, expected: dict[Any, int]) -> Iterator[Any]:
        """Answers as they arrive: `expected[pipe]` from each pipe."""
        from multiprocessing.connection import wait

        waiting = {pipe: n for pipe, n in expected.items() if n}
        while waiting:
            for ready in wait(list(waiting)):
                pipe: Any = ready
                try:
                    status, value = pipe.recv()
                except EOFError:
                    raise RuntimeError("a scoring worker process died") from None
                if status == "error":
                    raise RuntimeError(f"a scoring worker failed:\n{value}")
                waiting[pipe] -= 1
                if not waiting[pipe]:
                    del waiting[pipe]
                yield value

    def read(self) -> Iterator[RangeRead]:
        """Pass 1: every range read, in the order they finish."""
        if self.local is not None:
            for lo, hi in self.ranges:
                yield self.local.read(lo, hi)
            return
        yield from self._answers(self.held)

    def sample(self, counts: dict[int, dict[str, int]], seed: int
               ) -> dict[str, pd.DataFrame]:
        """Pass 2: `counts[range start][cutoff]` random buyers of each range at each churn
        cutoff, gathered into one frame per cutoff (in range order)."""
        if self.local is not None:
            parts = {lo: self.local.sample(lo, c, seed) for lo, c in counts.items()}
        else:
            for pipe in self.pipes:
                pipe.send(("sample", [(lo, c, seed) for lo, c in counts.items()
                                      if self.owner[lo] is pipe]))
            parts = dict(self._answers(self.held))
        return {cutoff: pd.concat([parts[lo][cutoff] for lo in sorted(parts)])
                for cutoff in CUTOFFS}

    def score(self, fitted: Fitted, write: Callable[..., int]) -> Iterator[RangeScored]:
        """Pass 3: every range scored with the fitted models and written by `write`
        (a module-level function: it travels to the worker processes by name)."""
        if self.local is not None:
            for lo, _hi in self.ranges:
                yield self.local.score(lo, fitted, write)
            return
        for pipe in self.pipes:
            pipe.send(("score", (fitted, write)))
        yield from self._answers(self.held)


def sample_counts(reads: list[RangeRead], limit: int, seed: int) -> dict[int, dict[str, int]]:
    """How many buyers to draw from each range at each cutoff so that together they are a
    uniform random sample of at most `limit` of all of them (multivariate hypergeometric
    shares, exactly as drawing from the pooled buyers)."""
    rng = np.random.default_rng(seed)
    out: dict[int, dict[str, int]] = {r.lo: {} for r in reads}
    for cutoff in CUTOFFS:
        available = np.array([r.buyers[cutoff] for r in reads], dtype=np.int64)
        take = (rng.multivariate_hypergeometric(available, min(limit, int(available.sum())))
                if available.sum() else available)
        for r, n in zip(reads, take, strict=True):
            out[r.lo][cutoff] = int(n)
    return out
