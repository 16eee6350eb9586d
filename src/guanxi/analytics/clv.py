"""Customer lifetime value: the public Python API.

Pure functions and small model classes over numpy arrays and pandas frames; no database.

    >>> summary = summary_from_transactions(orders, "customer_id", "placed_at", "total")
    >>> bg = BetaGeo().fit(summary.frequency, summary.recency, summary["T"])
    >>> bg.params_                       # {'r': ..., 'alpha': ..., 'a': ..., 'b': ...}
    >>> bg.expected_purchases(90, summary.frequency, summary.recency, summary["T"])
    >>> gg = GammaGamma().fit(repeat.frequency, repeat.monetary_value)
    >>> clv(bg, gg, summary.frequency, summary.recency, summary["T"],
    ...     summary.monetary_value, months=12, discount_rate=0.01)

Definitions follow the `lifetimes` package (Davidson-Pilon), so results can be compared:
frequency is the number of repeat purchase periods, recency the time from the first to
the last purchase, T the time from the first purchase to the end of observation, all in
units of `freq` (days by default), and monetary_value the mean value of the repeat
purchases.

Models: BG/NBD (Fader, Hardie & Lee, "Counting your customers the easy way", 2005) and
Gamma-Gamma spend (Fader & Hardie, "The Gamma-Gamma model of monetary value", 2013),
fitted by maximum likelihood with analytic gradients on the distinct (x, t_x, T) rows
weighted by how many customers share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = ["BetaGeo", "GammaGamma", "ParetoNBD", "clv", "forecast",
           "summary_from_transactions"]

ArrayLike: TypeAlias = "Sequence[float] | np.ndarray | pd.Series[Any]"


def _array(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float)


# --- data -------------------------------------------------------------------------

def summary_from_transactions(df: pd.DataFrame, customer_col: str, datetime_col: str,
                              monetary_col: str | None = None,
                              observation_end: Any = None, freq: str = "D"
                              ) -> pd.DataFrame:
    """Per customer: frequency, recency, T (and monetary_value), indexed by customer.

    Purchases in the same period (day by default) count as one, with their values
    summed; purchases after `observation_end` are ignored."""
    frame = df[[customer_col, datetime_col] + ([monetary_col] if monetary_col else [])].copy()
    when = pd.to_datetime(frame[datetime_col])
    if getattr(when.dt, "tz", None) is not None:
        when = when.dt.tz_localize(None)
    frame["_period"] = when.dt.to_period(freq)
    end = (frame["_period"].max() if observation_end is None
           else pd.Timestamp(observation_end).to_period(freq))
    frame = frame[frame["_period"] <= end]
    agg: dict[str, Any] = {}
    if monetary_col:
        agg[monetary_col] = "sum"
    periods = (frame.groupby([customer_col, "_period"], sort=True).agg(agg) if agg
               else frame.groupby([customer_col, "_period"], sort=True).size().to_frame("_n"))
    periods = periods.reset_index()
    ordinal = periods["_period"].map(lambda p: p.ordinal).to_numpy()
    periods["_ord"] = ordinal
    grouped = periods.groupby(customer_col, sort=True)
    first = grouped["_ord"].transform("min")
    summary = pd.DataFrame({
        "frequency": grouped.size() - 1,
        "recency": grouped["_ord"].max() - grouped["_ord"].min(),
        "T": end.ordinal - grouped["_ord"].min(),
    }).astype(float)
    if monetary_col:
        repeat = periods[periods["_ord"] != first]
        summary["monetary_value"] = (repeat.groupby(customer_col)[monetary_col].mean()
                                     .reindex(summary.index).fillna(0.0).astype(float))
    summary.index.name = customer_col
    return summary


def _factorize(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns and, per row, the index of its distinct row."""
    whole = len(columns[0]) > 0 and all(np.array_equal(c, np.round(c)) and c.min() >= 0
                                        for c in columns)
    spans = [int(c.max()) + 1 for c in columns] if whole else []
    if whole and float(np.prod(np.array(spans, dtype=float))) < 2.0 ** 62:
        # Whole periods (the usual case): one int64 key per row sorts far faster than
        # rows of floats.
        key = np.zeros(len(columns[0]), dtype=np.int64)
        for column, span in zip(columns, spans, strict=True):
            key = key * span + column.astype(np.int64)
        unique, inverse = np.unique(key, return_inverse=True)
        decoded = []
        for span in reversed(spans):
            decoded.append((unique % span).astype(float))
            unique = unique // span
        return list(reversed(decoded)), inverse.ravel()
    table, inverse = np.unique(np.column_stack(columns), axis=0, return_inverse=True)
    return [table[:, i] for i in range(table.shape[1])], inverse.ravel()


def _distinct(*columns: np.ndarray, weights: np.ndarray | None = None
              ) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows and how many customers share each: likelihoods are sums over
    customers, and customers repeat (most bought once), so this shrinks the work."""
    w = np.ones(len(columns[0])) if weights is None else _array(weights)
    rows, inverse = _factorize(*columns)
    counts = np.bincount(inverse, weights=w, minlength=len(rows[0]))
    return rows, counts


class _Pairs:
    """The distinct (x, t_x) and (x, T) pairs of the rows: Pareto/NBD's hypergeometric
    terms depend on one pair each, so they are computed once per pair."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> None:
        (self.x1, self.q1), self.i1 = self._pairs(x, tx)
        (self.x2, self.q2), self.i2 = self._pairs(x, T)

    @staticmethod
    def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray],
                                                      np.ndarray]:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if len(a) == 0:
            return (a, b), np.zeros(0, dtype=np.int64)
        (first, second), inverse = _factorize(a, b)
        return (first, second), inverse


class _Factor:
    """A column as its distinct values plus an index: special functions and logs are
    computed once per distinct value (a few hundred days) instead of once per row."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.index = np.unique(values, return_inverse=True)

    def apply(self, fn: Any) -> np.ndarray:
        return np.asarray(fn(self.values))[self.index]


# --- BG/NBD ------------------------------------------------------------------------

@dataclass
class BetaGeo:
    """The BG/NBD model of repeat purchasing: purchase rates are gamma(r, alpha) across
    customers, and after each purchase a customer drops out with a beta(a, b)
    probability."""

    penalizer: float = 0.0
    params_: dict[str, float] | None = None

    def _negative_ll(self, log_params: np.ndarray, x: np.ndarray, fx: _Factor,
                     ftx: _Factor, fT: _Factor, w: np.ndarray
                     ) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        active = x > 0
        log_alpha_T = fT.apply(lambda v: np.log(alpha + v))
        log_alpha_tx = ftx.apply(lambda v: np.log(alpha + v))
        a1 = fx.apply(lambda v: special.gammaln(r + v) - special.gammaln(r)) + r * np.log(alpha)
        a2 = fx.apply(lambda v: special.gammaln(a + b) + special.gammaln(b + v)
                      - special.gammaln(b) - special.gammaln(a + b + v))
        a3 = -(r + x) * log_alpha_T
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(active, fx.apply(lambda v: np.log(a) - np.log(b + v - 1))
                          - (r + x) * log_alpha_tx, -np.inf)
        m = np.maximum(a3, a4)
        e3, e4 = np.exp(a3 - m), np.exp(a4 - m)
        ll = a1 + a2 + m + np.log(e3 + e4)
        w3 = e3 / (e3 + e4)
        w4 = 1.0 - w3
        total = w.sum()
        dr = (fx.apply(lambda v: special.digamma(r + v) - special.digamma(r)) + np.log(alpha)
              - w3 * log_alpha_T - w4 * np.where(active, log_alpha_tx, 0.0))
        dalpha = r / alpha - (r + x) * (w3 * fT.apply(lambda v: 1 / (alpha + v))
                                        + w4 * ftx.apply(lambda v: 1 / (alpha + v)))
        da = fx.apply(lambda v: special.digamma(a + b) - special.digamma(a + b + v)) + w4 / a
        with np.errstate(divide="ignore", invalid="ignore"):
            db = (fx.apply(lambda v: special.digamma(a + b) + special.digamma(b + v)
                           - special.digamma(b) - special.digamma(a + b + v))
                  - np.where(active, w4 * fx.apply(lambda v: 1 / (b + v - 1)), 0.0))
        grad = np.array([(w * d).sum() for d in (dr, dalpha, da, db)]) / total
        theta = np.array([r, alpha, a, b])
        penalty = self.penalizer * (theta ** 2).sum()
        value = -(w * ll).sum() / total + penalty
        # d/d(log theta) = theta * d/d theta
        gradient = -grad * theta + 2 * self.penalizer * theta ** 2
        return float(value), gradient

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
            weights: ArrayLike | None = None) -> BetaGeo:
        x, tx, t, w, scale = _purchase_rows(frequency, recency, T, weights)
        args = (x, _Factor(x), _Factor(tx * scale), _Factor(t * scale), w)
        best = None
        for start in (np.zeros(4), np.log([0.5, 1.0, 1.0, 2.0])):
            # trial points far from the answer can overflow (the line search backs off)
            with np.errstate(all="ignore"):
                result = optimize.minimize(self._negative_ll, start, jac=True, args=args,
                                           method="L-BFGS-B", options={"maxiter": 2000,
                                                                       "ftol": 1e-13,
                                                                       "gtol": 1e-9})
            if best is None or result.fun < best.fun:
                best = result
            if result.success:
                break  # the second start is for the rare run that does not converge
        assert best is not None
        r, alpha, a, b = np.exp(best.x)
        self.params_ = {"r": float(r), "alpha": float(alpha / scale), "a": float(a),
                        "b": float(b)}
        return self

    def _params(self) -> tuple[float, float, float, float]:
        if self.params_ is None:
            raise ValueError("fit the model first")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Probability that each customer is still active at the end of observation."""
        r, alpha, a, b = self._params()
        x, tx, t = _array(frequency), _array(recency), _array(T)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(x > 0, a / (b + x - 1) * ((alpha + t) / (alpha + tx)) ** (r + x),
                            0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: float | ArrayLike, frequency: ArrayLike,
                           recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Expected repeat purchases in the next `t` periods, per customer."""
        r, alpha, a, b = self._params()
        x, tx, tt = _array(frequency), _array(recency), _array(T)
        horizon = np.asarray(t, dtype=float)
        hyp_z = horizon / (alpha + tt + horizon)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, hyp_z)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + tt) / (alpha + tt + horizon)) ** (r + x) * hyp
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(x > 0, a / (b + x - 1) * ((alpha + tt) / (alpha + tx)) ** (r + x),
                            0.0)
        return first * second / (1 + odds)


def _purchase_rows(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
                   weights: ArrayLike | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Checked, distinct (x, t_x, T) rows with their weights, and the time scale that
    makes starting parameters of 1 sensible whatever the unit."""
    x, tx, t = _array(frequency), _array(recency), _array(T)
    _check_summary(x, tx, t)
    (x, tx, t), w = _distinct(x, tx, t, weights=None if weights is None else _array(weights))
    return x, tx, t, w, 10.0 / max(float(t.max()), 1e-9)


def _check_summary(x: np.ndarray, tx: np.ndarray, t: np.ndarray) -> None:
    if not (len(x) == len(tx) == len(t)):
        raise ValueError("frequency, recency and T must have the same length")
    if len(x) == 0:
        raise ValueError("no customers to fit")
    if (x < 0).any() or (tx < 0).any() or (tx > t + 1e-9).any():
        raise ValueError("need 0 <= frequency, 0 <= recency <= T")
    if ((x == 0) & (tx != 0)).any():
        raise ValueError("customers without repeat purchases must have recency 0")


# --- Pareto/NBD -------------------------------------------------------------------

@dataclass
class ParetoNBD:
    """The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): purchase rates are
    gamma(r, alpha) and lifetimes exponential with gamma(s, beta) rates. Unlike BG/NBD,
    dropping out does not happen at purchases, so frequent buyers are not counted out
    faster: on daily data this forecasts repeat purchases better (see bench/clv.py)."""

    penalizer: float = 0.0
    params_: dict[str, float] | None = None

    @staticmethod
    def _log_a0(r: float, alpha: float, s: float, beta: float, x: np.ndarray,
                tx: np.ndarray, T: np.ndarray, plan: _Pairs | None = None) -> np.ndarray:
        plan = plan or _Pairs(x, tx, T)
        high, low = max(alpha, beta), min(alpha, beta)

        def hyp(px: np.ndarray, pq: np.ndarray) -> np.ndarray:
            # one hypergeometric value per distinct (x, time) pair: the costly part
            rsx = r + s + px
            second = r + px if alpha < beta else s + 1.0
            return special.hyp2f1(rsx, second, rsx + 1.0, (high - low) / (high + pq))

        rsx = r + s + x
        q1, q2 = high + tx, high + T
        p1 = hyp(plan.x1, plan.q1)[plan.i1]
        p2 = hyp(plan.x2, plan.q2)[plan.i2]
        first, second = np.log(p1) + rsx * np.log(q2), np.log(p2) + rsx * np.log(q1)
        top = np.maximum(first, second)
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = top + np.log(np.exp(first - top) - np.exp(second - top))
        return diff - rsx * np.log(q1 * q2)

    @classmethod
    def _log_likelihood(cls, r: float, alpha: float, s: float, beta: float, x: np.ndarray,
                        tx: np.ndarray, T: np.ndarray, plan: _Pairs | None = None
                        ) -> np.ndarray:
        with np.errstate(all="ignore"):  # a bad trial point gives -inf/nan: rejected
            return cls._log_likelihood_raw(r, alpha, s, beta, x, tx, T, plan)

    @classmethod
    def _log_likelihood_raw(cls, r: float, alpha: float, s: float, beta: float,
                            x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                            plan: _Pairs | None = None) -> np.ndarray:
        a1 = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
              + s * np.log(beta))
        log_a0 = cls._log_a0(r, alpha, s, beta, x, tx, T, plan)
        a2 = np.logaddexp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T),
                          np.log(s) + log_a0 - np.log(r + s + x))
        return a1 + a2

    def _negative_ll(self, log_params: np.ndarray, x: np.ndarray, tx: np.ndarray,
                     T: np.ndarray, w: np.ndarray, plan: _Pairs) -> float:
        r, alpha, s, beta = np.exp(log_params)
        ll = self._log_likelihood(r, alpha, s, beta, x, tx, T, plan)
        if not np.isfinite(ll).all():
            return 1e12
        theta = np.array([r, alpha, s, beta])
        return float(-(w * ll).sum() / w.sum() + self.penalizer * (theta ** 2).sum())

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
            weights: ArrayLike | None = None, start: dict[str, float] | None = None
            ) -> ParetoNBD:
        """Maximum likelihood. `start`: parameters to start from (a previous fit on
        similar data, e.g. last night's), which saves most of the search."""
        x, tx, t, w, scale = _purchase_rows(frequency, recency, T, weights)
        args = (x, tx * scale, t * scale, w, _Pairs(x, tx * scale, t * scale))
        # The likelihood has a long flat ridge in (s, beta) on small or short histories,
        # where the simplex can wander for thousands of evaluations without changing any
        # prediction (the demo's 267 buyers: 2,000 evaluations, 17 s, predictions equal to
        # those after 600): the evaluations are capped. CDNOW's polish takes ~210.
        options: dict[str, Any] = {"maxiter": 4000, "maxfev": 600, "xatol": 1e-7,
                                   "fatol": 1e-12}
        if start:
            begin = np.log([start["r"], start["alpha"] * scale, start["s"],
                            start["beta"] * scale])
            before = self._negative_ll(begin, *args)
            # Near the answer already: quasi-Newton steps finish in about a hundred
            # evaluations (the simplex needs several hundred for the same predictions).
            first = optimize.minimize(self._negative_ll, begin, args=args,
                                      method="L-BFGS-B", options={"maxiter": 100})
            if first.success and first.fun <= before:
                return self._set(first.x, scale)
            # a small simplex around the start, parameters to about 4 digits
            options.update(initial_simplex=begin + np.vstack([np.zeros(4), 0.02 * np.eye(4)]),
                           xatol=1e-4, fatol=1e-9, maxfev=400)
            if not first.fun <= before:
                first = optimize.OptimizeResult(x=begin, fun=before)
        else:
            # Quasi-Newton with numerical gradients first; the simplex method polishes
            # from there (the hypergeometric terms make gradients noisy near z = 1).
            first = optimize.minimize(self._negative_ll, np.zeros(4), args=args,
                                      method="L-BFGS-B", options={"maxiter": 500})
        best = optimize.minimize(self._negative_ll, first.x, args=args,
                                 method="Nelder-Mead", options=options)
        if first.fun < best.fun:
            best = first
        return self._set(best.x, scale)

    def _set(self, log_params: np.ndarray, scale: float) -> ParetoNBD:
        r, alpha, s, beta = np.exp(log_params)
        self.params_ = {"r": float(r), "alpha": float(alpha / scale), "s": float(s),
                        "beta": float(beta / scale)}
        return self

    def _params(self) -> tuple[float, float, float, float]:
        if self.params_ is None:
            raise ValueError("fit the model first")
        p = self.params_
        return p["r"], p["alpha"], p["s"], p["beta"]

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        r, alpha, s, beta = self._params()
        x, tx, t = _array(frequency), _array(recency), _array(T)
        log_a0 = self._log_a0(r, alpha, s, beta, x, tx, t)
        return 1.0 / (1.0 + np.exp(np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + t)
                                   + s * np.log(beta + t) + log_a0))

    def expected_purchases(self, t: float | ArrayLike, frequency: ArrayLike,
                           recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        r, alpha, s, beta = self._params()
        x, tx, tt = _array(frequency), _array(recency), _array(T)
        horizon = np.asarray(t, dtype=float)
        ll = self._log_likelihood(r, alpha, s, beta, x, tx, tt)
        first = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                 + s * np.log(beta) - (r + x) * np.log(alpha + tt) - s * np.log(beta + tt))
        second = np.log(r + x) + np.log(beta + tt) - np.log(alpha + tt)
        third = np.log((1 - ((beta + tt) / (beta + tt + horizon)) ** (s - 1)) / (s - 1))
        return np.exp(first + second + third - ll)


    def predict_many(self, horizons: Sequence[float], frequency: ArrayLike,
                     recency: ArrayLike, T: ArrayLike
                     ) -> tuple[np.ndarray, list[np.ndarray]]:
        """P(alive) and the expected purchases for each horizon, from one evaluation of
        the hypergeometric terms (what the scoring job needs for every customer)."""
        r, alpha, s, beta = self._params()
        x, tx, tt = _array(frequency), _array(recency), _array(T)
        with np.errstate(all="ignore"):
            log_a0 = self._log_a0(r, alpha, s, beta, x, tx, tt)
            base = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                    + s * np.log(beta) - (r + x) * np.log(alpha + tt) - s * np.log(beta + tt))
            tail = np.log(s) + log_a0 - np.log(r + s + x) + (
                special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                + s * np.log(beta))
            ll = np.logaddexp(base, tail)
            alive = np.exp(base - ll)
            second = np.log(r + x) + np.log(beta + tt) - np.log(alpha + tt)
            expected = [np.exp(base + second + np.log(
                (1 - ((beta + tt) / (beta + tt + h)) ** (s - 1)) / (s - 1)) - ll)
                for h in horizons]
        return alive, expected


# --- Gamma-Gamma -------------------------------------------------------------------

@dataclass
class GammaGamma:
    """The Gamma-Gamma model of average spend per purchase, for customers with repeat
    purchases (spend is assumed independent of purchase frequency)."""

    penalizer: float = 0.0
    params_: dict[str, float] | None = None

    def _negative_ll(self, log_params: np.ndarray, x: np.ndarray, m: np.ndarray,
                     w: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(log_params)
        px = p * x
        ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
              + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
              - (px + q) * np.log(x * m + v))
        dp = x * (special.digamma(px + q) - special.digamma(px) + np.log(m) + np.log(x)
                  - np.log(x * m + v))
        dq = special.digamma(px + q) - special.digamma(q) + np.log(v) - np.log(x * m + v)
        dv = q / v - (px + q) / (x * m + v)
        total = w.sum()
        theta = np.array([p, q, v])
        grad = np.array([(w * d).sum() for d in (dp, dq, dv)]) / total
        value = -(w * ll).sum() / total + self.penalizer * (theta ** 2).sum()
        return float(value), -grad * theta + 2 * self.penalizer * theta ** 2

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike,
            weights: ArrayLike | None = None) -> GammaGamma:
        x, m = _array(frequency), _array(monetary_value)
        if len(x) != len(m) or len(x) == 0:
            raise ValueError("frequency and monetary_value must be non-empty, same length")
        if (x <= 0).any() or (m <= 0).any():
            raise ValueError("fit only customers with repeat purchases of positive value")
        (x, m), w = _distinct(x, m, weights=None if weights is None else _array(weights))
        scale = 1.0 / float(np.median(m))
        best = None
        for start in (np.zeros(3), np.log([5.0, 3.0, 10.0 * scale])):
            result = optimize.minimize(self._negative_ll, start, jac=True,
                                       args=(x, m * scale, w), method="L-BFGS-B",
                                       options={"maxiter": 2000, "ftol": 1e-13,
                                                "gtol": 1e-9})
            if best is None or result.fun < best.fun:
                best = result
        assert best is not None
        p, q, v = np.exp(best.x)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v / scale)}
        return self

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
        """Expected average value of each customer's future purchases; customers without
        repeat purchases get the population mean."""
        if self.params_ is None:
            raise ValueError("fit the model first")
        p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
        x, m = _array(frequency), _array(monetary_value)
        population = p * v / (q - 1)
        individual = p * (v + x * m) / (p * x + q - 1)
        return np.where(x > 0, individual, population)


# --- value -------------------------------------------------------------------------

def clv(purchases: BetaGeo, spend: GammaGamma, frequency: ArrayLike, recency: ArrayLike,
        T: ArrayLike, monetary_value: ArrayLike, *, months: int = 12,
        discount_rate: float = 0.01, periods_per_month: float = 30.0) -> np.ndarray:
    """Discounted value of each customer's purchases over the next `months`, with a
    monthly `discount_rate`, as lifetimes' customer_lifetime_value. `periods_per_month`
    is how many of the units frequency/recency/T are in make a month: 30 for days
    (the default), 4.345 for weeks."""
    per_month = periods_per_month
    spend_each = spend.expected_spend(frequency, monetary_value)
    total = np.zeros(len(_array(frequency)))
    previous = np.zeros_like(total)
    for month in range(1, months + 1):
        cumulative = purchases.expected_purchases(month * per_month, frequency, recency, T)
        total += (cumulative - previous) * spend_each / (1 + discount_rate) ** month
        previous = cumulative
    return total


# --- the default forecast ------------------------------------------------------------

def forecast_models(summary: pd.DataFrame, *, model: str = "pareto"
                    ) -> tuple[BetaGeo | ParetoNBD, np.ndarray | None]:
    """The fitted purchase model and each customer's expected spend per purchase (None
    without monetary values) for a summary_from_transactions frame: fit once, then
    predict any horizon with `forecast_frame`."""
    x, tx, t = summary["frequency"], summary["recency"], summary["T"]
    purchases: BetaGeo | ParetoNBD
    if model == "pareto":
        purchases = ParetoNBD().fit(x, tx, t)
    elif model == "bgnbd":
        purchases = BetaGeo().fit(x, tx, t)
    else:
        raise ValueError("model is 'pareto' or 'bgnbd'")
    if "monetary_value" not in summary:
        return purchases, None
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) >= 20:
        spend = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
        return purchases, spend.expected_spend(x, summary["monetary_value"])
    # Too few repeat buyers to fit spend: what they spent on average.
    return purchases, np.full(len(summary), float(repeat["monetary_value"].mean())
                              if len(repeat) else 0.0)


def forecast_frame(summary: pd.DataFrame, purchases: BetaGeo | ParetoNBD,
                   spend_each: np.ndarray | None, horizon_days: int) -> pd.DataFrame:
    x, tx, t = summary["frequency"], summary["recency"], summary["T"]
    out = pd.DataFrame(index=summary.index)
    out["expected_purchases"] = purchases.expected_purchases(horizon_days, x, tx, t)
    out["p_alive"] = purchases.p_alive(x, tx, t)
    out["expected_value"] = (out["expected_purchases"] * spend_each
                             if spend_each is not None else np.nan)
    return out


def forecast(transactions: pd.DataFrame, *, customer_col: str, datetime_col: str,
             monetary_col: str | None = None, observation_end: Any,
             horizon_days: int, model: str = "pareto") -> pd.DataFrame:
    """Guanxi's default forecast, used by the scoring job and the 360 page: per customer
    the expected repeat purchase days in the next `horizon_days`, the probability of
    being alive at `observation_end`, and the expected value of those purchases.

    model="pareto" (default) is Pareto/NBD; model="bgnbd" is the BG/NBD baseline."""
    summary = summary_from_transactions(transactions, customer_col, datetime_col,
                                        monetary_col, observation_end=observation_end)
    purchases, spend_each = forecast_models(summary, model=model)
    return forecast_frame(summary, purchases, spend_each, horizon_days)
