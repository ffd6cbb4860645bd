"""Moments and density of the limiting spectrum of J J^T (graphexp_db.limits; CONVENTIONS.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphexp_db.gaussian import LimitError, dual_diag
from graphexp_db.limits import (
    count_noncrossing,
    fuss_catalan,
    iter_noncrossing,
    jacobian_atom,
    jacobian_density,
    jacobian_moments,
    jacobian_q,
)


@pytest.mark.parametrize("method", ["free", "noncrossing"])
@pytest.mark.parametrize("L", [1, 2, 4])
def test_identity_gives_fuss_catalan(method, L):
    sw = 1.1
    m = jacobian_moments(f"mlp:L={L},sw={sw},sb=0.3", "identity", 0.7, 8, method=method)
    expected = [sw ** (2 * k * (L + 1)) * fuss_catalan(L + 1, k) for k in range(1, 9)]
    np.testing.assert_allclose(m, expected, rtol=1e-12)


@pytest.mark.parametrize("act", ["tanh", "relu", "erf", "sin", "gelu", "poly:0,1,1/2"])
def test_m1_is_the_product_formula(act):
    spec = "mlp:L=4,sw=1.3,sb=0.2"
    q = jacobian_q(spec, act, 0.8)
    mu1 = [float(dual_diag(act, np.array(ql), derivative=True)[1]) for ql in q]
    m1 = jacobian_moments(spec, act, 0.8, 1)[0]
    assert m1 == pytest.approx(1.3 ** (2 * 5) * math.prod(mu1), rel=1e-10)


@pytest.mark.parametrize("act", ["tanh", "relu", "erf"])
@pytest.mark.parametrize("L", [1, 2, 3, 4, 5])
def test_noncrossing_equals_free_convolution(act, L):
    spec = f"mlp:L={L},sw=1.2,sb=0.1"
    a = jacobian_moments(spec, act, 1.0, 8, method="noncrossing")
    b = jacobian_moments(spec, act, 1.0, 8, method="free")
    np.testing.assert_allclose(a, b, rtol=1e-10)


@pytest.mark.parametrize("q", [0.1, 0.5, 2.0, 9.0])
def test_law_of_D_squared_moments_to_1e12(q):
    # erf: phi'(z)^2j = (4/pi)^j exp(-2j z^2), so mu_j = (4/pi)^j / sqrt(1 + 4 j q) exactly
    from graphexp_db.gaussian import derivative_measure

    t, w = derivative_measure("erf", q, kmax=20)
    for j in range(1, 21):
        exact = (4 / math.pi) ** j / math.sqrt(1 + 4 * j * q)
        assert float(np.sum(w * t**j)) == pytest.approx(exact, rel=1e-12)


def test_noncrossing_enumeration_counts():
    for k in range(8):
        parts = list(iter_noncrossing(k))
        assert len(parts) == len(set(parts)) == count_noncrossing(k)
        for p in parts:
            assert sorted(v for b in p for v in b) == list(range(k))


def test_m2_matches_the_known_second_moment():
    # for free factors, normalised variances add: m_2/m_1^2 - 1 = sum_i (m_2(a_i)/m_1(a_i)^2 - 1);
    # each of the L+1 Wisharts gives 1, each D_l^2 gives mu_2/mu_1^2 - 1
    spec, act = "mlp:L=3,sw=1.4,sb=0.2", "tanh"
    q = jacobian_q(spec, act, 1.0)
    from graphexp_db.gaussian import derivative_measure

    ratio = 0.0
    for ql in q:
        t, w = derivative_measure(act, ql)
        mu1, mu2 = float(np.sum(w * t)), float(np.sum(w * t * t))
        ratio += mu2 / mu1**2 - 1
    m1, m2 = jacobian_moments(spec, act, 1.0, 2)
    assert m2 / m1**2 == pytest.approx((3 + 1) + 1 + ratio, rel=1e-12)


def test_twenty_moments_at_depth_100():
    # the time (< 1 s target) is measured in benchmarks/bench_limits.py, not here
    m = jacobian_moments("mlp:L=100,sw=1.05,sb=0.05", "tanh", 1.0, 20)
    assert len(m) == 20 and all(np.isfinite(m))
    # moments of a probability measure on [0, inf): m_k^(1/k) does not decrease (Lyapunov)
    roots = [v ** (1 / k) for k, v in enumerate(m, start=1)]
    assert all(a <= b * (1 + 1e-12) for a, b in zip(roots, roots[1:]))


# ----------------------------------------------------------------------------- Monte Carlo


def _mc_trace_moments(act, L, sw, sb, q_in, N, kmax, seeds):
    phi, dphi = {
        "tanh": (np.tanh, lambda h: 1 - np.tanh(h) ** 2),
        "relu": (lambda h: np.maximum(h, 0), lambda h: (h > 0).astype(float)),
    }[act]
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(N)
        x *= math.sqrt(q_in * N) / np.linalg.norm(x)         # |x|^2 / N = q_in
        J = np.eye(N)
        a = x
        for _ in range(L):
            W = rng.standard_normal((N, N)) * (sw / math.sqrt(N))
            h = W @ a + sb * rng.standard_normal(N)
            J = dphi(h)[:, None] * (W @ J)
            a = phi(h)
        J = (rng.standard_normal((N, N)) * (sw / math.sqrt(N))) @ J
        A = J @ J.T
        P = np.eye(N)
        ms = []
        for _ in range(kmax):
            P = P @ A
            ms.append(np.trace(P) / N)
        out.append(ms)
    return np.array(out)


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_moments_match_monte_carlo_eigenvalues(act):
    """N = 800, 4 samples, L = 2, sw = 1.2, sb = 0.1, k <= 3.  CONVENTIONS.md: one sample fluctuates
    at O(N^-1/2) and the mean carries an O(1/N) bias (a few/N here); tolerance = 4 standard errors
    of the mean + 3% bias allowance.  Measured relative deviations: about 0.2-1.5%."""
    L, sw, sb, N, K = 2, 1.2, 0.1, 800, 3
    mc = _mc_trace_moments(act, L, sw, sb, 1.0, N, K, seeds=range(4))
    mean, se = mc.mean(0), mc.std(0, ddof=1) / math.sqrt(len(mc))
    m = np.array(jacobian_moments(f"mlp:L={L},sw={sw},sb={sb}", act, 1.0, K))
    assert np.all(np.abs(mean - m) <= 4 * se + 0.03 * m), (mean, m, se)


# ----------------------------------------------------------------------------- density


def _mass_and_moments(spec, act):
    L = int(spec.split("L=")[1].split(",")[0])
    g, rho = jacobian_density(spec, act, 1.0)
    p = L + 2                                   # default grid lambda = g_max s^p (see docstring)
    s = (g / g[-1]) ** (1 / p)
    f = rho * p * g[-1] * s ** (p - 1)
    mass = np.trapezoid(f, s) + p * rho[0] * g[0] + jacobian_atom(spec, act, 1.0)
    return mass, np.trapezoid(f * g, s), np.trapezoid(f * g * g, s)


@pytest.mark.parametrize("spec,act,mass_tol", [
    ("mlp:L=1,sw=1", "identity", 1e-3),
    ("mlp:L=3,sw=1.2", "identity", 1e-3),
    ("mlp:L=2,sw=1.2", "relu", 1e-3),
    ("mlp:L=1,sw=1.2,sb=0.1", "tanh", 1e-2),
])
def test_density_integrates_to_one_and_matches_m1_m2(spec, act, mass_tol):
    """Exact D^2 laws (identity, relu) integrate to 1 within 1e-3; smooth activations use a discrete
    (trapezoid-rule) law of D^2 whose effect near lambda = 0 is at the percent level."""
    mass, m1, m2 = _mass_and_moments(spec, act)
    ref = jacobian_moments(spec, act, 1.0, 2)
    assert abs(mass - 1) < mass_tol
    assert m1 == pytest.approx(ref[0], rel=1e-3)
    assert m2 == pytest.approx(ref[1], rel=1e-3)


def test_density_vs_monte_carlo_histogram():
    # relu, L = 1: compare the cumulative distribution of the non-zero eigenvalues at N = 800
    L, sw = 1, 1.3
    mc = []
    rng = np.random.default_rng(7)
    N = 800
    for _ in range(2):
        x = rng.standard_normal(N)
        W1 = rng.standard_normal((N, N)) * sw / math.sqrt(N)
        W2 = rng.standard_normal((N, N)) * sw / math.sqrt(N)
        D = (W1 @ x > 0).astype(float)
        J = W2 @ (D[:, None] * W1)
        mc.append(np.linalg.eigvalsh(J @ J.T))
    ev = np.concatenate(mc)
    g, rho = jacobian_density(f"mlp:L={L},sw={sw}", "relu", 1.0, grid=np.linspace(1e-4, 12, 6000))
    cdf = 0.5 + np.concatenate([[0], np.cumsum((rho[1:] + rho[:-1]) / 2 * np.diff(g))])
    for lam in (0.5, 1.0, 2.0, 4.0):
        emp = np.mean(ev <= lam)
        assert abs(emp - np.interp(lam, g, cdf)) < 0.02


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs():
    with pytest.raises(LimitError, match="kmax must be >= 1"):
        jacobian_moments("mlp:L=2", "tanh", 1.0, 0)
    with pytest.raises(LimitError, match="q_in must be finite and >= 0"):
        jacobian_moments("mlp:L=2", "tanh", -1.0, 3)
    with pytest.raises(LimitError, match="q_in must be finite"):
        jacobian_moments("mlp:L=2", "tanh", float("nan"), 3)
    with pytest.raises(LimitError, match="square MLPs"):
        jacobian_moments("resnet:L=2", "tanh", 1.0, 3)
    with pytest.raises(LimitError, match="unknown method"):
        jacobian_moments("mlp:L=2", "tanh", 1.0, 3, method="magic")
    with pytest.raises(LimitError, match="overflow"):
        jacobian_moments("mlp:L=100,sw=100", "identity", 1.0, 20)
    with pytest.raises(LimitError, match="grid"):
        jacobian_density("mlp:L=1", "tanh", 1.0, grid=np.array([-1.0, 1.0]))
