"""Customer lifetime value models: how many more purchases a customer will make (BG/NBD) and how much
each will be worth (Gamma-Gamma), fitted by maximum likelihood with numpy and scipy only.

**BG/NBD** (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2)). While alive, a customer buys at rate lambda (a Poisson
process, lambda ~ Gamma(shape r, rate alpha) over customers); after each purchase they drop out for
good with probability p (p ~ Beta(a, b) over customers). Per customer the data are

* ``x``: the number of repeat purchases (purchases after the first one),
* ``t_x``: the time of the last purchase, counted from the first purchase (0 when x == 0),
* ``T``: the time from the first purchase to the end of the observation period,

all three times in one unit of the caller's choice (days, weeks...). ``alpha`` comes out in that unit
(lambda's mean r/alpha is purchases per unit); r, a and b carry no unit; a log-likelihood is in nats.

**Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis", Journal of Marketing Research 42(4); Hardie, "The Gamma-Gamma Model of Monetary Value",
2013). Each transaction's value is Gamma(shape p, rate nu), nu ~ Gamma(shape q, rate v) over
customers. Per customer: ``x`` purchases and ``mean_spend``, their average value (in the paper, the
average of the repeat purchases). ``v`` is in money units; p and q carry none. The model assumes spend
per purchase does not depend on how often a customer buys.

Numerics:

* Everything is worked in logs (``gammaln``, ``logaddexp``, ``expit``), so very large x and T neither
  overflow nor lose the smaller of the two likelihood terms.
* Fits run L-BFGS-B on the log of the parameters with the exact gradient; times are divided by the
  customers' mean T (and spend by its mean) while fitting, so the starting point suits any unit. Should
  L-BFGS-B stop without converging -- unless it stopped where the gradient is flat (_SETTLED_GRADIENT) --
  Nelder-Mead takes over from the best point found. The log-parameters
  are bounded (+-30, in the rescaled units): a parameter that ends at a bound says the data push the
  model to a limiting case (e.g. b -> infinity: hardly anyone drops out) rather than pin it down.
* Identical (x, t_x, T) rows are merged with their weights added before a BG/NBD fit, so a million
  customers cost little more than the distinct rows among them.
* The conditional expectation needs the Gauss hypergeometric function 2F1(r+x, b+x; a+b+x-1; z) with
  z = t / (alpha + T + t), which tends to 1 for long horizons and there comes back from
  ``scipy.special.hyp2f1`` as nan or inf once x is in the hundreds. It is evaluated after Euler's
  transformation, 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z), whose parameters no longer grow
  with x. For short horizons (t small against alpha + T) the cancellation in "1 - ..." is avoided with
  the power series in t / (alpha + T); when a is within 1e-4 of 1 (where the closed form is 0/0) the
  value is interpolated between a = 1 - 1e-4 and 1 + 1e-4. Any value still not finite, or outside the
  bounds the expectation must lie in, is recomputed by adaptive quadrature of its integral over the
  dropout probability (posterior Beta(a, b + x)), which holds for every parameter value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special

__all__ = [
    "BgNbdFit",
    "GammaGammaFit",
    "bgnbd_log_likelihood",
    "expected_purchases",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "p_alive",
]

FloatArray = NDArray[np.float64]

# Fitted log-parameters stay within +-this (parameters between 1e-13 and 1e13 in the rescaled units).
_LOG_BOUND = 30.0
# L-BFGS-B's line search can give up ("ABNORMAL") at the optimum itself, where the objective (the mean
# log-likelihood per customer) changes by less than its rounding -- typically when a parameter heads for a
# limiting case the likelihood is flat along. A point where the gradient in the log-parameters is no steeper
# than this (directions out of the bounds left aside) is the optimum found.
_SETTLED_GRADIENT = 1e-5
# The power series in t/(alpha+T) is used while its terms shrink at least 4 times each.
_SERIES_RATIO = 0.25
_SERIES_TERMS = 30
# Within this of a == 1 the conditional expectation is interpolated.
_A_NEAR_ONE = 1e-4
# hyp2f1 is the only special function whose failures need catching; a module-level name keeps it
# replaceable in tests of the fallback.
_hyp2f1 = special.hyp2f1


@dataclass(frozen=True)
class BgNbdFit:
    """A fitted BG/NBD model.

    ``r`` and ``alpha``: shape and rate of the gamma spread of purchase rates (``alpha`` in the time
    unit of the data; mean rate r/alpha purchases per unit). ``a`` and ``b``: the beta spread of the
    dropout probability after each purchase (mean a/(a+b)). ``log_likelihood``: of the fitted data, in
    nats. ``customers``: how many customers the fit saw (the sum of the weights).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma spend model.

    ``p``: shape of one customer's spend per purchase; ``q`` and ``v``: shape and rate (``v`` in money
    units) of the gamma spread of that spend's scale over customers. The mean spend per purchase over
    the population is p*v/(q-1) money units (for q > 1). ``log_likelihood``: of the average spends
    fitted, in nats. ``customers``: how many customers were used (weights added up).
    """

    p: float
    q: float
    v: float
    log_likelihood: float
    customers: int


# ---------------------------------------------------------------------------------------------------
# Input checks


def _vector(name: str, values: ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be one-dimensional, not of shape {arr.shape}")
    return np.atleast_1d(arr)


def _check_counts(name: str, values: FloatArray) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite numbers")
    if np.any(values < 0) or np.any(values != np.floor(values)):
        raise ValueError(f"{name} must be whole numbers of at least 0")


def _check_times(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    _check_counts("x (repeat purchases)", x)
    if not (np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise ValueError("t_x and T must be finite numbers")
    if np.any(t_x < 0):
        raise ValueError("t_x (time of the last purchase) must be at least 0")
    if np.any(t_x > T):
        raise ValueError("t_x (time of the last purchase) cannot be later than T (time observed)")


def _fit_rows(
    columns: dict[str, ArrayLike], weights: ArrayLike | None
) -> tuple[list[FloatArray], FloatArray]:
    """The columns as equal-length float vectors and the weights (1 each when None)."""
    arrays = [_vector(name, values) for name, values in columns.items()]
    n = arrays[0].size
    for (name, _), arr in zip(columns.items(), arrays, strict=True):
        if arr.size != n:
            raise ValueError(f"{name} has {arr.size} values but {next(iter(columns))} has {n}")
    if weights is None:
        w = np.ones(n)
    else:
        w = _vector("weights", weights)
        if w.size != n:
            raise ValueError(f"weights has {w.size} values but there are {n} rows")
        _check_counts("weights (customers per row)", w)
    if n == 0:
        raise ValueError("no customers to fit: the input is empty")
    return arrays, w


def _positive_params(names: Sequence[str], values: Sequence[float]) -> None:
    for name, value in zip(names, values, strict=True):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"parameter {name} must be a finite number above 0, not {value!r}")


# ---------------------------------------------------------------------------------------------------
# BG/NBD


def _bgnbd_rows(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, T: FloatArray,
    *, gradient: bool = False,
) -> tuple[FloatArray, FloatArray | None]:
    """Each row's log-likelihood and, when asked, its gradient in (r, alpha, a, b) (shape (4, n)).

    L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / G(r) * [(alpha+T)^-(r+x)
        + [x > 0] a/(b+x-1) (alpha+t_x)^-(r+x)]           (FHL 2005, eq. 6 rearranged)
    """
    rx = r + x
    repeat = x > 0
    bx1 = np.where(repeat, b + x - 1.0, 1.0)  # b + x - 1 > 0 whenever x >= 1
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + t_x)
    first = -rx * log_at
    second = np.where(repeat, math.log(a) - np.log(bx1) - rx * log_atx, -np.inf)
    mix = np.logaddexp(first, second)
    ll = (
        special.gammaln(rx) - special.gammaln(r) + r * math.log(alpha)
        + special.gammaln(b + x) - special.gammaln(b)
        + special.gammaln(a + b) - special.gammaln(a + b + x)
        + mix
    )
    if not gradient:
        return ll, None
    share = np.exp(second - mix)  # the second term's part of the bracket; 0 when x == 0
    keep = 1.0 - share
    dig_ab = special.digamma(a + b) - special.digamma(a + b + x)
    grad = np.empty((4, x.size))
    grad[0] = special.digamma(rx) - special.digamma(r) + math.log(alpha) - keep * log_at - share * log_atx
    grad[1] = r / alpha - rx * (keep / (alpha + T) + share / (alpha + t_x))
    grad[2] = dig_ab + share / a
    grad[3] = special.digamma(b + x) - special.digamma(b) + dig_ab - share / bx1
    return ll, grad


def bgnbd_log_likelihood(
    params: BgNbdFit | Sequence[float],
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> float:
    """The BG/NBD log-likelihood (nats) of the data at ``params`` = (r, alpha, a, b) or a fit.

    x: repeat purchases; t_x: time of the last purchase since the first; T: time since the first
    purchase (one time unit throughout, the one alpha is in). weights: customers per row.
    """
    if isinstance(params, BgNbdFit):
        values = (params.r, params.alpha, params.a, params.b)
    else:
        values = tuple(float(v) for v in params)
        if len(values) != 4:
            raise ValueError("params must be (r, alpha, a, b)")
    _positive_params(("r", "alpha", "a", "b"), values)
    (xv, txv, Tv), w = _fit_rows({"x": x, "t_x": t_x, "T": T}, weights)
    _check_times(xv, txv, Tv)
    ll, _ = _bgnbd_rows(*values, xv, txv, Tv)
    return float(np.dot(w, ll))


def _merge_rows(columns: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Identical rows of ``columns`` (shape (n, k)) merged, their weights added."""
    order = np.lexsort(columns.T[::-1])
    ordered = columns[order]
    starts = np.ones(ordered.shape[0], dtype=bool)
    starts[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    group = np.cumsum(starts) - 1
    return ordered[starts], np.bincount(group, weights=w[order], minlength=int(group[-1]) + 1)


def _minimise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], start: FloatArray, what: str
) -> FloatArray:
    """Minimise objective(theta) -> (value, gradient) over bounded log-parameters."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        result = optimize.minimize(
            objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
        )
        best = result.x if np.all(np.isfinite(result.x)) and np.isfinite(result.fun) else start
        if not ((result.success or _settled(result, _LOG_BOUND)) and np.isfinite(result.fun)):
            result = optimize.minimize(
                lambda theta: objective(theta)[0], best, method="Nelder-Mead", bounds=bounds,
                options={"maxiter": 20000, "maxfev": 40000, "xatol": 1e-9, "fatol": 1e-13},
            )
            best = result.x
        found = result.success or _settled(result, _LOG_BOUND)
        if not (found and np.all(np.isfinite(best)) and np.isfinite(objective(best)[0])):
            raise ValueError(f"the {what} fit did not converge: {result.message}")
    return np.asarray(best, dtype=np.float64)


def _settled(result: optimize.OptimizeResult, bound: float) -> bool:
    """Whether an optimiser that stopped without saying it converged stopped where the objective is flat
    (see _SETTLED_GRADIENT): the gradient's components, those pushing out of the +-``bound`` box left aside."""
    gradient = getattr(result, "jac", None)
    if gradient is None or not (np.isfinite(result.fun) and np.all(np.isfinite(result.x))):
        return False
    g = np.asarray(gradient, dtype=np.float64)
    outward = ((result.x <= -bound) & (g > 0)) | ((result.x >= bound) & (g < 0))
    g = np.where(outward, 0.0, g)
    return bool(np.all(np.isfinite(g)) and np.max(np.abs(g)) <= _SETTLED_GRADIENT)


def fit_bgnbd(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, *, weights: ArrayLike | None = None
) -> BgNbdFit:
    """Fit the BG/NBD model by maximum likelihood.

    x: repeat purchases per customer; t_x: time of their last purchase since their first (0 when
    x == 0); T: time since their first purchase (any one time unit; alpha comes out in it).
    weights: how many customers share each (x, t_x, T) row (whole numbers; default 1 each).
    Raises ValueError on empty or invalid input, when no one made a repeat purchase (the model then
    has no finite fit), or when the optimiser does not converge.
    """
    (xv, txv, Tv), w = _fit_rows({"x": x, "t_x": t_x, "T": T}, weights)
    _check_times(xv, txv, Tv)
    used = w > 0
    total = float(w.sum())
    if total == 0:
        raise ValueError("no customers to fit: every weight is 0")
    if not np.any(xv[used] > 0):
        raise ValueError(
            "no customer made a repeat purchase (every x is 0): the BG/NBD model cannot be fitted"
        )
    rows, counts = _merge_rows(np.column_stack([xv[used], txv[used], Tv[used]]), w[used])
    mx, mtx, mT = rows[:, 0], rows[:, 1], rows[:, 2]
    scale = float(np.dot(counts, mT)) / total  # > 0: someone has t_x > 0 or x > 0 with T >= t_x
    if not scale > 0:
        raise ValueError("every customer has T == 0: there is no observation time to fit")
    stx, sT = mtx / scale, mT / scale
    rate = float(np.dot(counts, mx)) / float(np.dot(counts, sT))  # repeat purchases per unit of time

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(theta)
        ll, grad = _bgnbd_rows(*params, mx, stx, sT, gradient=True)
        assert grad is not None
        value = -float(np.dot(counts, ll)) / total
        if not math.isfinite(value):
            return math.inf, np.zeros(4)
        return value, -(grad @ counts) * params / total

    start = np.log([1.0, 1.0 / rate, 1.0, 1.0])
    theta = _minimise(objective, start, "BG/NBD")
    r, alpha_scaled, a, b = (float(v) for v in np.exp(theta))
    alpha = alpha_scaled * scale
    ll, _ = _bgnbd_rows(r, alpha, a, b, mx, mtx, mT)
    return BgNbdFit(r, alpha, a, b, float(np.dot(counts, ll)), int(round(total)))


def _prediction_inputs(fit: BgNbdFit, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> list[FloatArray]:
    if not isinstance(fit, BgNbdFit):
        raise TypeError("fit must be a BgNbdFit")
    xv, txv, Tv = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, t_x, T)))
    _check_times(xv, txv, Tv)
    return [xv, txv, Tv]


def _log_odds_dropped(fit: BgNbdFit, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """log of a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) for x >= 1 (-inf for x == 0)."""
    repeat = x > 0
    bx1 = np.where(repeat, fit.b + x - 1.0, 1.0)
    odds = (
        math.log(fit.a) - np.log(bx1)
        + (fit.r + x) * np.log1p((T - t_x) / (fit.alpha + t_x))
    )
    return np.where(repeat, odds, -np.inf)


def p_alive(fit: BgNbdFit, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Probability (0 to 1) that each customer is still a customer at time T (FHL 2005, eq. 11).

    1.0 for x == 0 (the model lets customers drop out only right after a purchase). Arguments
    broadcast; times in the fit's unit.
    """
    xv, txv, Tv = _prediction_inputs(fit, x, t_x, T)
    return np.asarray(special.expit(-_log_odds_dropped(fit, xv, txv, Tv)), dtype=np.float64)


def _series_if_alive(a: float, beta: FloatArray, n: FloatArray, tau: FloatArray) -> FloatArray:
    """E[(1 - (1 + p tau)^-n) / p], p ~ Beta(a, beta), as its power series in tau (tau small).

    = n tau sum_j (n+1)_j (a)_j / ((a+beta)_j (j+1)!) (-tau)^j ((.)_j: rising factorial); the caller
    keeps the ratio of successive terms below _SERIES_RATIO.
    """
    term = n * tau
    total = term.copy()
    for j in range(_SERIES_TERMS):
        term = term * (-(n + 1.0 + j) * (a + j) * tau / ((a + beta + j) * (j + 2.0)))
        total += term
    return total


def _closed_form_if_alive(a: float, beta: FloatArray, n: FloatArray, tau: FloatArray) -> FloatArray:
    """The same expectation in closed form, after Euler's transformation (a != 1).

    (a+beta-1)/(a-1) * [1 - (1-z)^(a-1) 2F1(a+beta-1-n, a-1; a+beta-1; z)], z = tau/(1+tau).
    """
    c = a + beta - 1.0
    z = tau / (1.0 + tau)
    g = np.exp((a - 1.0) * -np.log1p(tau)) * _hyp2f1(c - n, a - 1.0, c, z)
    return c / (a - 1.0) * (1.0 - g)


def _h(p: float, n: float, tau: float) -> float:
    """(1 - (1 + p tau)^-n) / p, also where p tau underflows."""
    y = p * tau
    if y < 1e-100:
        return n * tau
    return -math.expm1(-n * math.log1p(y)) / y * tau


def _log_expit(s: float) -> float:
    return -math.log1p(math.exp(-s)) if s >= 0 else s - math.log1p(math.exp(s))


def _quad(f: Callable[[float], float], lo: float, hi: float, breaks: Sequence[float]) -> float:
    edges = [lo, *sorted(v for v in breaks if lo < v < hi), hi]
    total = 0.0
    for left, right in zip(edges[:-1], edges[1:], strict=False):
        total += integrate.quad(f, left, right, limit=200, full_output=1, epsabs=0.0, epsrel=1e-10)[0]
    return total


def _quadrature_if_alive(a: float, beta: float, n: float, tau: float) -> float:
    """The same expectation by adaptive quadrature over p, for values the closed form misses.

    Below the mode of logit(p) the integral runs over u = p^a when a < 1 (taking out the p^(a-1)
    singularity), else over s = logit(p); above it over w = (1-p)^beta when beta < 1, else over s.
    The bend of the integrand at p = 1/tau is a break point.
    """
    log_beta_fn = float(special.betaln(a, beta))
    s_mode = math.log(a) - math.log(beta)
    s_bend = -math.log(tau)

    def over_s(s: float) -> float:
        lp, lq = _log_expit(s), _log_expit(-s)
        return _h(math.exp(lp), n, tau) * math.exp(a * lp + beta * lq - log_beta_fn)

    if a < 1.0:
        def over_u(u: float) -> float:
            p = u ** (1.0 / a)
            return _h(p, n, tau) * math.exp((beta - 1.0) * math.log1p(-p) - math.log(a) - log_beta_fn)

        lower = _quad(over_u, 0.0, math.exp(a * _log_expit(s_mode)), [math.exp(a * _log_expit(s_bend))])
    else:
        lower = _quad(over_s, -math.inf, s_mode, [s_bend])
    if beta < 1.0:
        def over_w(w: float) -> float:
            q = w ** (1.0 / beta)
            return _h(1.0 - q, n, tau) * math.exp((a - 1.0) * math.log1p(-q) - math.log(beta) - log_beta_fn)

        upper = _quad(over_w, 0.0, math.exp(beta * _log_expit(-s_mode)), [math.exp(beta * _log_expit(-s_bend))])
    else:
        upper = _quad(over_s, s_mode, math.inf, [s_bend])
    return lower + upper


def _purchases_if_alive(a: float, beta: FloatArray, n: FloatArray, tau: FloatArray) -> FloatArray:
    """E[purchases in the next t | alive now] = E[(1 - (1 + p tau)^-n) / p], p ~ Beta(a, beta),
    with beta = b + x, n = r + x, tau = t / (alpha + T). 1-D arrays of one length."""
    out = np.zeros(tau.shape)
    series = tau * np.maximum((n + 1.0) / 2.0, 1.0) <= _SERIES_RATIO
    out[series] = _series_if_alive(a, beta[series], n[series], tau[series])
    rest = ~series
    if np.any(rest):
        b_, n_, t_ = beta[rest], n[rest], tau[rest]
        with np.errstate(all="ignore"):
            if abs(a - 1.0) < _A_NEAR_ONE:
                below = _closed_form_if_alive(1.0 - _A_NEAR_ONE, b_, n_, t_)
                above = _closed_form_if_alive(1.0 + _A_NEAR_ONE, b_, n_, t_)
                value = below + (a - 1.0 + _A_NEAR_ONE) / (2.0 * _A_NEAR_ONE) * (above - below)
            else:
                value = _closed_form_if_alive(a, b_, n_, t_)
            # (1 - (1+p tau)^-n)/p lies between its values at p = 1 and p -> 0
            lowest = -np.expm1(-n_ * np.log1p(t_))
            highest = n_ * t_
            bad = ~(np.isfinite(value) & (value >= lowest * (1 - 1e-9)) & (value <= highest * (1 + 1e-9)))
        if np.any(bad):  # about 0.3 ms a value, so each distinct case is worked out once
            cases, back = np.unique(np.column_stack([b_[bad], n_[bad], t_[bad]]), axis=0, return_inverse=True)
            worked = np.array([_quadrature_if_alive(a, *(float(v) for v in case)) for case in cases])
            value[bad] = worked[back.ravel()]
        out[rest] = value
    return out


def expected_purchases(
    fit: BgNbdFit, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Expected number of purchases each customer makes in the next ``t`` time units, given their
    history (FHL 2005, eq. 10): P(alive) times the purchases expected if alive.

    t, t_x and T in the fit's time unit; x repeat purchases. Arguments broadcast.
    """
    xv, txv, Tv = _prediction_inputs(fit, x, t_x, T)
    tv = np.asarray(t, dtype=np.float64)
    if not (np.all(np.isfinite(tv)) and np.all(tv >= 0)):
        raise ValueError("t (the horizon) must be a finite number of at least 0")
    tv, xv, txv, Tv = np.broadcast_arrays(tv, xv, txv, Tv)
    shape = tv.shape
    tau = (tv / (fit.alpha + Tv)).ravel()
    xf = xv.ravel()
    if_alive = _purchases_if_alive(fit.a, fit.b + xf, fit.r + xf, tau)
    alive = special.expit(-_log_odds_dropped(fit, xf, txv.ravel(), Tv.ravel()))
    return np.asarray(alive * if_alive, dtype=np.float64).reshape(shape)


# ---------------------------------------------------------------------------------------------------
# Gamma-Gamma


def _gamma_gamma_rows(
    p: float, q: float, v: float, x: FloatArray, mean_spend: FloatArray, *, gradient: bool = False
) -> tuple[FloatArray, FloatArray | None]:
    """Each customer's log-density of their average spend and, when asked, its gradient in (p, q, v).

    x * mean_spend | nu ~ Gamma(p x, nu), nu ~ Gamma(q, v), so
    f(mean) = G(px+q)/(G(px) G(q)) v^q x^(px) mean^(px-1) / (v + x mean)^(px+q).
    """
    px = p * x
    spend = x * mean_spend
    log1p_sv = np.log1p(spend / v)
    log1p_vs = np.log1p(v / spend)
    ll = (
        special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
        - q * log1p_sv - px * log1p_vs - np.log(mean_spend)
    )
    if not gradient:
        return ll, None
    dig = special.digamma(px + q)
    grad = np.empty((3, x.size))
    grad[0] = x * (dig - special.digamma(px) - log1p_vs)
    grad[1] = dig - special.digamma(q) - log1p_sv
    grad[2] = (q * spend / v - px) / (v + spend)
    return ll, grad


def fit_gamma_gamma(
    x: ArrayLike, mean_spend: ArrayLike, *, weights: ArrayLike | None = None
) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model by maximum likelihood.

    x: purchases each customer's average is over (the repeat purchases, as in the paper);
    mean_spend: that average, in money units (v comes out in them). Only customers with x >= 1 and
    mean_spend > 0 are used; the others (including a missing, nan, average) are ignored.
    weights: customers per row (whole numbers; default 1 each). Raises ValueError when no customer
    can be used or the optimiser does not converge.
    """
    (xv, mv), w = _fit_rows({"x": x, "mean_spend": mean_spend}, weights)
    _check_counts("x (purchases)", xv)
    with np.errstate(invalid="ignore"):
        used = (xv >= 1) & (mv > 0) & (w > 0)
    if np.any(np.isinf(mv[used])):
        raise ValueError("mean_spend must be finite")
    if not np.any(used):
        raise ValueError(
            "no customer with x >= 1 and an average spend above 0: the Gamma-Gamma model cannot be fitted"
        )
    xu, mu, wu = xv[used], mv[used], w[used]
    total = float(wu.sum())
    scale = float(np.dot(wu, mu)) / total
    mus = mu / scale

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(theta)
        ll, grad = _gamma_gamma_rows(*params, xu, mus, gradient=True)
        assert grad is not None
        value = -float(np.dot(wu, ll)) / total
        if not math.isfinite(value):
            return math.inf, np.zeros(3)
        return value, -(grad @ wu) * params / total

    # p = 1, q = 2, v = 1: a population mean spend of p v / (q - 1) = the data's (scaled) mean
    theta = _minimise(objective, np.log([1.0, 2.0, 1.0]), "Gamma-Gamma")
    p, q, v_scaled = (float(val) for val in np.exp(theta))
    v = v_scaled * scale
    ll, _ = _gamma_gamma_rows(p, q, v, xu, mu)
    return GammaGammaFit(p, q, v, float(np.dot(wu, ll)), int(round(total)))


def expected_spend(fit: GammaGammaFit, x: ArrayLike, mean_spend: ArrayLike) -> FloatArray:
    """Each customer's expected average spend per purchase (money units), given x purchases averaging
    mean_spend: p (v + x mean) / (p x + q - 1), a weighted mean of the population mean and their own.

    For x == 0 (mean_spend ignored, may be nan) it is the population mean p v / (q - 1). Where the
    posterior mean does not exist (p x + q <= 1; for x == 0, q <= 1) it is inf. Arguments broadcast.
    """
    if not isinstance(fit, GammaGammaFit):
        raise TypeError("fit must be a GammaGammaFit")
    xv, mv = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(mean_spend, dtype=np.float64))
    _check_counts("x (purchases)", xv)
    repeat = xv > 0
    mv = np.where(repeat, mv, 0.0)
    if not (np.all(np.isfinite(mv)) and np.all(mv >= 0)):
        raise ValueError("mean_spend must be a finite amount of at least 0 where x >= 1")
    denominator = fit.p * xv + fit.q - 1.0
    finite = denominator > 0
    value = fit.p * (fit.v + xv * mv) / np.where(finite, denominator, 1.0)
    return np.asarray(np.where(finite, value, np.inf), dtype=np.float64)
