"""BG/NBD and Gamma-Gamma (crmdesk.services.clv_model) against the published CDNOW figures, reference
values worked to 60 digits, and the model's own identities."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from crmdesk.services import clv_model
from crmdesk.services.clv_model import (
    BgNbdFit,
    GammaGammaFit,
    bgnbd_log_likelihood,
    expected_purchases,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)

# CDNOW sample, 2,357 customers, 39 weeks (Fader, Hardie & Lee 2005), from the lifetimes package's lifetimes/datasets/cdnow_customers_summary_with_transactions.csv
CDNOW = Path(__file__).resolve().parent.parent / "fixtures" / "cdnow_summary.csv"

# Published BG/NBD fit on CDNOW (FHL 2005, "Counting Your Customers the Easy Way")
PUBLISHED = BgNbdFit(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4, customers=2357)

# E[purchases in the next t | x, t_x, T] from the paper's formula (eq. 10) worked with 60-digit
# arithmetic: (r, alpha, a, b), t, x, t_x, T, value. Long horizons, x up to a million, a near 1.
REFERENCE = [
    ((0.243, 4.414, 0.793, 2.426), 39, 2, 30.43, 38.86, 1.2260281747671445),
    ((0.243, 4.414, 0.793, 2.426), 39, 0, 0, 38.86, 0.19509805201126264),
    ((0.243, 4.414, 0.793, 2.426), 1e5, 100, 38, 38.86, 1842.646055620564),
    ((0.243, 4.414, 0.793, 2.426), 39, 1000, 38.5, 38.86, 157.36919384039559),
    ((0.243, 4.414, 0.793, 2.426), 1e4, 1_000_000, 1e4, 1e4, 745085.44293251866),
    ((0.243, 4.414, 0.793, 2.426), 0.001, 5, 20, 1e5, 4.8811109535291331e-26),
    ((0.243, 4.414, 0.793, 2.426), 1e8, 3, 100, 5000, 0.0029787238099288129),
    ((0.243, 4.414, 0.793, 2.426), 52, 30, 300, 300, 4.7457482818924541),
    ((1.5, 10.0, 2.5, 4.0), 39, 2, 30, 39, 0.90612089198716129),
    ((1.5, 10.0, 2.5, 4.0), 1e6, 500, 390, 400, 0.28370694313244937),
    ((0.5, 3.0, 1.00003, 0.7), 39, 0, 0, 39, 0.3407317105852716),
    ((0.5, 3.0, 1.00003, 0.7), 200, 4, 20, 39, 1.5900244904301682),
    ((0.3, 2.0, 0.2, 0.3), 100, 0, 0, 50, 0.43551280500634698),
]


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    data = np.loadtxt(CDNOW, delimiter=",", skiprows=1)
    return {"x": data[:, 1], "t_x": data[:, 2], "T": data[:, 3], "zbar": data[:, 4]}


@pytest.fixture(scope="module")
def bgnbd(cdnow: dict[str, np.ndarray]) -> BgNbdFit:
    return fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """Ordinary data (x == 0, t_x == 0) and extreme data alike must not warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_cdnow_data_is_the_papers():
    data = np.loadtxt(CDNOW, delimiter=",", skiprows=1)
    assert data.shape == (2357, 5)
    assert int((data[:, 1] > 0).sum()) == 946


def test_cdnow_bgnbd_fit_matches_the_published_one(bgnbd: BgNbdFit):
    assert bgnbd.customers == 2357
    for name in ("r", "alpha", "a", "b"):
        assert getattr(bgnbd, name) == pytest.approx(getattr(PUBLISHED, name), rel=2e-3), name
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.5)


def test_log_likelihood_at_the_published_parameters(cdnow: dict[str, np.ndarray], bgnbd: BgNbdFit):
    published = bgnbd_log_likelihood((0.243, 4.414, 0.793, 2.426), cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert published == pytest.approx(-9582.4, abs=0.5)
    assert bgnbd_log_likelihood(bgnbd, cdnow["x"], cdnow["t_x"], cdnow["T"]) == pytest.approx(bgnbd.log_likelihood)
    assert bgnbd.log_likelihood >= published  # the maximum


def test_cdnow_gamma_gamma_fit_matches_the_published_one(cdnow: dict[str, np.ndarray]):
    fit = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])  # the 1,411 customers with x == 0 are left out
    assert fit.customers == 946
    assert fit.p == pytest.approx(6.25, rel=2e-3)
    assert fit.q == pytest.approx(3.74, rel=2e-3)
    assert fit.v == pytest.approx(15.44, rel=2e-3)
    assert math.isfinite(fit.log_likelihood)


def test_published_conditional_expectation(bgnbd: BgNbdFit):
    # FHL 2005: a customer with x = 2, t_x = 30.43, T = 38.86 weeks expects 1.226 purchases in the next 39
    assert float(expected_purchases(PUBLISHED, 39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=5e-4)
    assert float(expected_purchases(bgnbd, 39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=2e-3)


@pytest.mark.parametrize(("params", "t", "x", "t_x", "T", "value"), REFERENCE)
def test_conditional_expectation_against_reference_values(params, t, x, t_x, T, value):
    fit = BgNbdFit(*params, log_likelihood=0.0, customers=0)
    assert float(expected_purchases(fit, t, x, t_x, T)) == pytest.approx(value, rel=1e-8)


def test_quadrature_takes_over_where_the_hypergeometric_function_fails(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(clv_model, "_hyp2f1", lambda *args: np.full(np.broadcast(*args).shape, np.nan))
    for params, t, x, t_x, T, value in REFERENCE:
        fit = BgNbdFit(*params, log_likelihood=0.0, customers=0)
        assert float(expected_purchases(fit, t, x, t_x, T)) == pytest.approx(value, rel=1e-8)


def test_conditional_expectation_is_continuous_through_a_equal_one():
    def at(a: float) -> np.ndarray:
        return expected_purchases(BgNbdFit(0.5, 3.0, a, 0.7, 0.0, 0), [5, 39, 400], [0, 3, 40], [0, 20, 38], 39)

    exact = at(1.0)
    assert np.all(np.isfinite(exact))
    assert np.allclose(exact, (at(1 - 1e-3) + at(1 + 1e-3)) / 2, rtol=1e-6)


def test_expected_purchases_shapes_and_limits(bgnbd: BgNbdFit):
    x = np.array([0, 1, 5, 50])
    out = expected_purchases(bgnbd, np.array([[0.0], [10.0], [39.0]]), x, np.array([0, 10, 30, 38]), 38.86)
    assert out.shape == (3, 4)
    assert np.all(out[0] == 0)  # no time, no purchases
    assert np.all(np.diff(out, axis=0) > 0)  # more time, more purchases
    assert float(expected_purchases(bgnbd, 39, 0, 0, 38.86)) < float(expected_purchases(bgnbd, 39, 5, 38, 38.86))


def test_p_alive(bgnbd: BgNbdFit):
    assert np.all(p_alive(bgnbd, [0, 0, 0], [0, 0, 0], [0.5, 38.86, 1e6]) == 1.0)
    # longer absence lowers it
    absent = p_alive(bgnbd, 2, [38.86, 30.43, 20, 10, 0.5], 38.86)
    assert np.all(np.diff(absent) < 0)
    assert np.all((absent > 0) & (absent < 1))
    assert p_alive(bgnbd, 2, 30.43, 50) < p_alive(bgnbd, 2, 30.43, 38.86)
    # more purchases with the same absence: lower, and falling faster
    few = p_alive(bgnbd, 2, [30, 10], 38.86)
    many = p_alive(bgnbd, 10, [30, 10], 38.86)
    assert many[1] < few[1]
    assert many[0] - many[1] > few[0] - few[1]
    # extreme histories: no overflow, no nan
    extreme = p_alive(bgnbd, [1e6, 1e6, 1], [0, 1e7, 0], 1e7)
    assert extreme[0] == 0.0 and 0 < extreme[1] < 1 and 0 < extreme[2] < 1


def test_weights_give_the_same_fit_as_repeated_rows(cdnow: dict[str, np.ndarray]):
    rng = np.random.default_rng(7)
    rows = rng.choice(len(cdnow["x"]), 600, replace=False)
    counts = rng.integers(0, 4, rows.size)  # rows of weight 0 count for nothing
    x, t_x, T, zbar = (cdnow[k][rows] for k in ("x", "t_x", "T", "zbar"))

    weighted = fit_bgnbd(x, t_x, T, weights=counts)
    repeated = fit_bgnbd(np.repeat(x, counts), np.repeat(t_x, counts), np.repeat(T, counts))
    assert weighted.customers == repeated.customers == int(counts.sum())
    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        assert getattr(weighted, name) == pytest.approx(getattr(repeated, name), rel=1e-6), name
    assert bgnbd_log_likelihood(weighted, x, t_x, T, counts) == pytest.approx(
        bgnbd_log_likelihood(weighted, np.repeat(x, counts), np.repeat(t_x, counts), np.repeat(T, counts))
    )

    spend_weighted = fit_gamma_gamma(x, zbar, weights=counts)
    spend_repeated = fit_gamma_gamma(np.repeat(x, counts), np.repeat(zbar, counts))
    assert spend_weighted.customers == spend_repeated.customers == int(counts[x > 0].sum())
    for name in ("p", "q", "v", "log_likelihood"):
        assert getattr(spend_weighted, name) == pytest.approx(getattr(spend_repeated, name), rel=1e-6), name


def test_the_time_unit_only_scales_alpha(cdnow: dict[str, np.ndarray], bgnbd: BgNbdFit):
    in_days = fit_bgnbd(cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7)
    assert in_days.alpha == pytest.approx(bgnbd.alpha * 7, rel=1e-4)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(bgnbd, name), rel=1e-4), name
    # densities in days are 1/7 of those in weeks, once per repeat purchase
    assert in_days.log_likelihood == pytest.approx(bgnbd.log_likelihood - cdnow["x"].sum() * math.log(7), abs=1e-3)
    assert float(expected_purchases(in_days, 273, 2, 213.01, 272.02)) == pytest.approx(
        float(expected_purchases(bgnbd, 39, 2, 30.43, 38.86)), rel=1e-4
    )


def test_synthetic_population_is_recovered():
    rng = np.random.default_rng(2005)
    n, r, alpha, a, b = 20_000, 0.8, 6.0, 0.6, 3.0
    rate = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    T = rng.integers(1, 365, n) / 7.0
    arrivals = rng.poisson(rate * T)
    x = np.minimum(arrivals, rng.geometric(drop))  # dropping out after the j-th repeat purchase
    t_x = np.zeros(n)
    some = x > 0
    t_x[some] = T[some] * rng.beta(x[some], arrivals[some] - x[some] + 1)  # the x-th of the arrivals
    fit = fit_bgnbd(x, t_x, T)
    assert fit.r == pytest.approx(r, rel=0.15)
    assert fit.alpha == pytest.approx(alpha, rel=0.2)
    assert fit.a == pytest.approx(a, rel=0.3)
    assert fit.b == pytest.approx(b, rel=0.4)


def test_expected_spend(cdnow: dict[str, np.ndarray]):
    fit = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    population = fit.p * fit.v / (fit.q - 1)
    out = expected_spend(fit, [0, 0, 1, 10, 1000], [np.nan, 50.0, 50.0, 50.0, 50.0])
    assert out[0] == out[1] == pytest.approx(population)
    # between the population mean and the customer's own, nearer their own the more they bought
    assert population < out[2] < out[3] < out[4] < 50.0
    assert out[4] == pytest.approx(50.0, rel=1e-2)
    assert expected_spend(fit, np.array([[1], [2]]), [10.0, 20.0]).shape == (2, 2)
    heavy_tailed = GammaGammaFit(p=0.3, q=0.5, v=10.0, log_likelihood=0.0, customers=0)
    assert np.all(np.isinf(expected_spend(heavy_tailed, [0, 1], [0.0, 5.0])))
    assert np.isfinite(expected_spend(heavy_tailed, 2, 5.0))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fit_bgnbd([], [], []), "empty"),
        (lambda: fit_bgnbd([0, 0, 0], [0, 0, 0], [10, 20, 30]), "repeat purchase"),
        (lambda: fit_bgnbd([1, 2], [3, 4], [5, 6], weights=[0, 0]), "every weight is 0"),
        (lambda: fit_bgnbd([1, 2], [3, 4], [5]), "has 1 values"),
        (lambda: fit_bgnbd([1, 2], [3, 7], [5, 6]), "cannot be later than T"),
        (lambda: fit_bgnbd([1.5], [3], [5]), "whole numbers"),
        (lambda: fit_bgnbd([1, 2], [3, np.nan], [5, 6]), "finite"),
        (lambda: fit_bgnbd([1, 2], [3, 4], [5, 6], weights=[1, -1]), "whole numbers"),
        (lambda: fit_gamma_gamma([], []), "empty"),
        (lambda: fit_gamma_gamma([0, 0, 0], [0, 0, 0]), "no customer with x >= 1"),
        (lambda: fit_gamma_gamma([1, 2, 0], [0, -5, 30]), "no customer with x >= 1"),
        (lambda: bgnbd_log_likelihood((1, 1, 1), [1], [1], [1]), "params"),
        (lambda: bgnbd_log_likelihood((1, 1, 0, 1), [1], [1], [1]), "parameter a"),
        (lambda: expected_purchases(PUBLISHED, -1, 1, 1, 2), "horizon"),
        (lambda: p_alive(PUBLISHED, 1, 3, 2), "cannot be later than T"),
        (lambda: expected_spend(GammaGammaFit(6.25, 3.74, 15.44, 0.0, 0), 2, np.nan), "mean_spend"),
    ],
)
def test_bad_input_is_refused_with_a_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_nelder_mead_takes_over_when_lbfgsb_fails(cdnow: dict[str, np.ndarray], bgnbd: BgNbdFit,
                                                  monkeypatch: pytest.MonkeyPatch):
    real = optimize.minimize

    def lbfgsb_fails(fun, x0, *args, method=None, **kwargs):
        if method == "L-BFGS-B":
            return optimize.OptimizeResult(x=np.asarray(x0), fun=math.nan, success=False, message="forced")
        return real(fun, x0, *args, method=method, **kwargs)

    monkeypatch.setattr(clv_model.optimize, "minimize", lbfgsb_fails)
    fit = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fit, name) == pytest.approx(getattr(bgnbd, name), rel=1e-3), name


def test_a_line_search_that_gives_up_at_the_optimum_is_the_fit(cdnow: dict[str, np.ndarray], bgnbd: BgNbdFit,
                                                              monkeypatch: pytest.MonkeyPatch):
    """L-BFGS-B may stop "ABNORMAL" where the likelihood is flat (a parameter heading for a limit): that point is
    taken, without minutes of Nelder-Mead that cannot better it (a 100,000-member store: 9 minutes, then no fit)."""
    real = optimize.minimize
    methods: list[str] = []

    def gives_up_at_the_end(fun, x0, *args, method=None, **kwargs):
        methods.append(method)
        result = real(fun, x0, *args, method=method, **kwargs)
        if method == "L-BFGS-B":
            result.success, result.message = False, "ABNORMAL: "
        return result

    monkeypatch.setattr(clv_model.optimize, "minimize", gives_up_at_the_end)
    fit = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert methods == ["L-BFGS-B"]
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fit, name) == pytest.approx(getattr(bgnbd, name), rel=1e-6), name


def test_a_stop_on_a_slope_is_no_fit_of_its_own(cdnow: dict[str, np.ndarray], bgnbd: BgNbdFit,
                                               monkeypatch: pytest.MonkeyPatch):
    """Stopped where the likelihood still climbs (a steep gradient): Nelder-Mead goes on from there."""
    real = optimize.minimize
    methods: list[str] = []

    def stops_at_the_start(fun, x0, *args, method=None, **kwargs):
        methods.append(method)
        if method == "L-BFGS-B":
            value, gradient = fun(np.asarray(x0))
            assert np.max(np.abs(gradient)) > 1e-3  # the start is on a slope
            return optimize.OptimizeResult(x=np.asarray(x0), fun=value, jac=gradient, success=False, message="ABNORMAL: ")
        return real(fun, x0, *args, method=method, **kwargs)

    monkeypatch.setattr(clv_model.optimize, "minimize", stops_at_the_start)
    fit = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert methods == ["L-BFGS-B", "Nelder-Mead"]
    assert fit.r == pytest.approx(bgnbd.r, rel=1e-3)


def test_an_optimiser_failure_is_a_value_error(cdnow: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch):
    def always_fails(fun, x0, *args, **kwargs):
        return optimize.OptimizeResult(x=np.asarray(x0), fun=math.nan, success=False, message="forced")

    monkeypatch.setattr(clv_model.optimize, "minimize", always_fails)
    with pytest.raises(ValueError, match="BG/NBD fit did not converge: forced"):
        fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    with pytest.raises(ValueError, match="Gamma-Gamma fit did not converge: forced"):
        fit_gamma_gamma(cdnow["x"], cdnow["zbar"])


def test_large_counts_and_long_histories_stay_finite():
    rng = np.random.default_rng(11)
    n = 400
    T = rng.uniform(1, 1e5, n)
    x = np.where(rng.random(n) < 0.3, 0, rng.integers(1, 1_000_000, n)).astype(float)
    t_x = np.where(x > 0, T * rng.random(n), 0.0)
    fit = fit_bgnbd(x, t_x, T)
    assert all(math.isfinite(v) and v > 0 for v in (fit.r, fit.alpha, fit.a, fit.b))
    assert math.isfinite(fit.log_likelihood)
    for horizon in (1.0, 1e3, 1e7):
        out = expected_purchases(fit, horizon, x, t_x, T)
        assert np.all(np.isfinite(out)) and np.all(out >= 0)
    spend = fit_gamma_gamma(x, rng.gamma(2.0, 10.0, n))
    assert np.all(np.isfinite(expected_spend(spend, x, rng.gamma(2.0, 10.0, n))))
