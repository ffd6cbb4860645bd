"""NNGP / NTK / ResNet limits (graphexp_db.limits, graphexp_db.gaussian): exact, closed form,
quadrature and Monte Carlo agree (MISSION.md F6, CONVENTIONS.md)."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest
from scipy import integrate
from scipy.special import ndtr

from graphexp_db.gaussian import LimitError, dual, gaussian_moment_exact, poly_dual_exact
from graphexp_db.limits import (
    kernels,
    nngp_exact,
    nngp_limit,
    ntk_exact,
    ntk_limit,
    resnet_covariance,
)
from graphexp_db.spec import SpecError, parse_activation, parse_arch

# ----------------------------------------------------------------------------- exact Gaussian moments


def _moment_by_expansion(a, b, kxx, kxy, kyy):
    # independent check: v = (kxy/kxx) u + r, r independent of u with variance kyy - kxy^2/kxx
    beta = F(kxy) / F(kxx)
    s2 = F(kyy) - beta * F(kxy)

    def m(n, var):  # E[g^n], g ~ N(0, var)
        return F(0) if n % 2 else F(math.prod(range(n - 1, 0, -2))) * F(var) ** (n // 2)

    return sum(math.comb(b, j) * beta**j * m(a + j, kxx) * m(b - j, s2) for j in range(b + 1))


@pytest.mark.parametrize("a,b", [(0, 0), (1, 1), (2, 2), (3, 1), (4, 2), (3, 5), (6, 6), (2, 3)])
def test_gaussian_moment_exact_matches_conditional_expansion(a, b):
    kxx, kxy, kyy = F(3, 2), F(-1, 3), F(5, 4)
    assert gaussian_moment_exact(a, b, kxx, kxy, kyy) == _moment_by_expansion(a, b, kxx, kxy, kyy)


def test_gaussian_moment_exact_takes_exact_decimals():
    assert gaussian_moment_exact(2, 0, 0.1, 0, 0) == F(1, 10)
    with pytest.raises(LimitError):
        gaussian_moment_exact(-1, 2, 1, 0, 1)


def test_poly_dual_float_equals_exact():
    c = parse_activation("poly:1/2,1,-1/3,1/5")
    e, d = dual(c, np.array(1.3), np.array(0.4), np.array(0.9))
    exact = poly_dual_exact(c.poly_coeffs, c.poly_coeffs, F("1.3"), F("0.4"), F("0.9"))
    assert float(e) == pytest.approx(float(exact), rel=1e-13)


# ----------------------------------------------------------------------------- closed forms vs quadrature


def _relu_duals_by_quad(kxx, kxy, kyy):
    # E over z1 of the inner Gaussian integral in closed form: E[relu(m + c z)] = m Phi(m/c) + c phi(m/c)
    a = math.sqrt(kxx)
    b = kxy / a
    c = math.sqrt(kyy - b * b)
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    inner = lambda m: m * ndtr(m / c) + c * phi(m / c)  # noqa: E731
    e = integrate.quad(lambda z: a * z * inner(b * z) * phi(z), 0, np.inf, epsabs=1e-13, epsrel=1e-13)[0]
    d = integrate.quad(lambda z: ndtr(b * z / c) * phi(z), 0, np.inf, epsabs=1e-13, epsrel=1e-13)[0]
    return e, d


@pytest.mark.parametrize("k", [(1.0, 0.3, 2.0), (0.5, -0.45, 0.6), (2.0, 1.9, 2.0), (1.0, 0.0, 1.0)])
def test_relu_arccos_closed_form_vs_quadrature(k):
    e, d = dual("relu", *(np.array(v) for v in k))
    qe, qd = _relu_duals_by_quad(*k)
    assert float(e) == pytest.approx(qe, abs=1e-10)
    assert float(d) == pytest.approx(qd, abs=1e-10)


@pytest.mark.parametrize("name", ["erf", "sin", "poly:0,1,1/2,-1/6"])
@pytest.mark.parametrize("k", [(1.0, 0.3, 2.0), (0.5, -0.45, 0.6), (2.0, 1.9, 2.0)])
def test_closed_forms_vs_quad2d(name, k):
    # erf, sin and polynomials are entire: the 2-D trapezoid rule converges fast
    from graphexp_db.gaussian import _QUAD_FUNCS, _quad2d

    act = parse_activation(name)
    f = {"erf": lambda z, xp: __import__("scipy.special").special.erf(z),
         "sin": lambda z, xp: np.sin(z)}.get(act.name)
    fp = {"erf": lambda z, xp: 2 / math.sqrt(math.pi) * np.exp(-z * z), "sin": lambda z, xp: np.cos(z)}.get(act.name)
    if act.name == "poly":
        c = [float(x) for x in act.poly_coeffs]
        dc = [i * c[i] for i in range(1, len(c))]
        f = lambda z, xp: np.polynomial.polynomial.polyval(z, c)  # noqa: E731
        fp = lambda z, xp: np.polynomial.polynomial.polyval(z, dc)  # noqa: E731
    _QUAD_FUNCS["_test"] = (f, fp)
    try:
        qe, qd = _quad2d("_test", *(np.array(v) for v in k), np, True, 120)
    finally:
        del _QUAD_FUNCS["_test"]
    e, d = dual(act, *(np.array(v) for v in k))
    assert float(e) == pytest.approx(float(qe), abs=1e-10)
    assert float(d) == pytest.approx(float(qd), abs=1e-10)


@pytest.mark.parametrize("name", ["tanh", "gelu"])
@pytest.mark.parametrize("k", [0.3, 1.0, 2.0, 4.0, 9.0])
def test_quadrature_error_is_below_stated_bound(name, k):
    """Docstring of graphexp_db.gaussian: adaptive nodes, absolute error < 1e-10 for variances <= 9."""
    worst = 0.0
    for rho in (-0.99, -0.5, 0.0, 0.7, 0.999, 1.0):
        kk = [np.array(k), np.array(rho * k), np.array(k)]
        e, d = dual(name, *kk)
        e_ref, d_ref = dual(name, *kk, n=301)
        worst = max(worst, abs(float(e - e_ref)), abs(float(d - d_ref)))
    assert worst < 1e-10


# ----------------------------------------------------------------------------- exact recursion = float engine


@pytest.mark.parametrize("arch", ["mlp:L=1,sw=1.2,sb=0.3", "mlp:L=3,sw=0.9,sb=0.1",
                                  '{"kind":"dag","edges":[[0,1],[0,2],[1,2],[1,3],[2,3]],"sw":1.1,"sb":0.2}'])
@pytest.mark.parametrize("act", ["identity", "poly:0,1,1/2", "poly:1/3,-1,0,1/4"])
def test_exact_recursion_equals_vectorised_kernels(arch, act):
    x, y = [F(1), F(1, 2), F(-1, 4)], [F(1, 5), F(-1), F(3, 10)]
    r = kernels(arch, act, np.array([[float(v) for v in x]]), np.array([[float(v) for v in y]]))
    assert r.nngp[0, 0] == pytest.approx(float(nngp_exact(arch, act, x, y)), rel=1e-12)
    assert r.ntk[0, 0] == pytest.approx(float(ntk_exact(arch, act, x, y)), rel=1e-12)


def test_dag_chain_is_the_mlp():
    chain = '{"kind":"dag","edges":[[0,1],[1,2],[2,3]],"sw":1.3,"sb":0.2}'
    X = np.random.default_rng(1).standard_normal((5, 4))
    a = kernels(chain, "tanh", X)
    b = kernels("mlp:L=2,sw=1.3,sb=0.2", "tanh", X)
    np.testing.assert_allclose(a.nngp, b.nngp, rtol=1e-14)
    np.testing.assert_allclose(a.ntk, b.ntk, rtol=1e-14)


def test_identity_mlp_closed_form():
    # linear net, sb = 0: K = sw^(2(L+1)) x.y/d and T = (L+1) K
    x, y = [1.0, 0.5], [0.2, -1.0]
    K = 1.5 ** 8 * (0.2 - 0.5) / 2
    assert nngp_limit("mlp:L=3,sw=1.5", "identity", x, y) == pytest.approx(K, rel=1e-14)
    assert ntk_limit("mlp:L=3,sw=1.5", "identity", x, y) == pytest.approx(4 * K, rel=1e-14)


def test_chunking_gives_the_same_matrix():
    X = np.random.default_rng(2).standard_normal((23, 3))
    Y = np.random.default_rng(3).standard_normal((11, 3))
    full = kernels("mlp:L=2,sw=1.4,sb=0.1", "erf", X, Y)
    parts = kernels("mlp:L=2,sw=1.4,sb=0.1", "erf", X, Y, chunk=4)
    np.testing.assert_array_equal(full.nngp, parts.nngp)
    np.testing.assert_array_equal(full.ntk, parts.ntk)
    sym = kernels("mlp:L=2,sw=1.4,sb=0.1", "erf", X)
    np.testing.assert_allclose(sym.nngp, sym.nngp.T, rtol=1e-14)


# ----------------------------------------------------------------------------- Monte Carlo of the network


def _empirical_kernels(act_fn, act_prime, L, sw, sb, X, N, seed):
    """Forward + backward pass of one MLP (CONVENTIONS.md, NTK parametrisation, scalar output)."""
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    W = [rng.standard_normal((N, d))] + [rng.standard_normal((N, N)) for _ in range(L - 1)]
    w_out = rng.standard_normal(N)
    b = [rng.standard_normal(N) for _ in range(L)]
    hs, acts = [], [X.T]
    fan = d
    for l in range(L):
        h = sw * W[l] @ acts[-1] / math.sqrt(fan) + sb * b[l][:, None]
        hs.append(h)
        acts.append(act_fn(h))
        fan = N
    # NNGP estimate from the N hidden units of the last layer (the readout is one more Gaussian layer)
    phiL = acts[-1]
    nngp = sw**2 * (phiL.T @ phiL) / N + sb**2
    # NTK: sum over layers of (param grads) inner products; delta_l = df/dh_l
    delta = sw * w_out[:, None] / math.sqrt(N) * act_prime(hs[-1])     # (N, M)
    ntk = sw**2 * (phiL.T @ phiL) / N + sb**2                          # readout weight + bias
    for l in range(L - 1, -1, -1):
        a_prev = acts[l]
        fan = d if l == 0 else N
        ntk += (delta.T @ delta) * (sw**2 * (a_prev.T @ a_prev) / fan + sb**2)
        if l > 0:
            delta = act_prime(hs[l - 1]) * (sw * W[l].T @ delta / math.sqrt(N))
    return nngp, ntk


ACT_FNS = {
    "relu": (lambda h: np.maximum(h, 0), lambda h: (h > 0).astype(float)),
    "tanh": (np.tanh, lambda h: 1 - np.tanh(h) ** 2),
    "erf": (__import__("scipy.special").special.erf, lambda h: 2 / math.sqrt(math.pi) * np.exp(-h * h)),
}


@pytest.mark.parametrize("act", ["relu", "tanh", "erf"])
def test_nngp_ntk_match_monte_carlo_network(act):
    """N = 1500, 4 networks (seeds 0..3), L = 2, sw = 1.3, sb = 0.2: the empirical kernels
    fluctuate at O(N^-1/2); measured worst relative error about 1-2%, tolerance 5%."""
    L, sw, sb, N = 2, 1.3, 0.2, 1500
    X = np.array([[1.0, 0.5, -0.3], [0.2, -1.0, 0.7], [-0.6, 0.1, 0.9]])
    est = [_empirical_kernels(*ACT_FNS[act], L, sw, sb, X, N, seed) for seed in range(4)]
    nngp_mc = np.mean([e[0] for e in est], axis=0)
    ntk_mc = np.mean([e[1] for e in est], axis=0)
    r = kernels(f"mlp:L={L},sw={sw},sb={sb}", act, X)
    scale_n = np.abs(r.nngp).max()
    scale_t = np.abs(r.ntk).max()
    assert np.max(np.abs(nngp_mc - r.nngp)) / scale_n < 0.05
    assert np.max(np.abs(ntk_mc - r.ntk)) / scale_t < 0.05


# ----------------------------------------------------------------------------- ResNet


def test_resnet_relu_ode_limit_is_exponential():
    # diagonal: dC/dt = sw^2 C/2, C(0) = sw^2 |x|^2/d
    s = parse_arch("resnet:L=inf,sw=1.2")
    x = [1.0, 2.0]
    c0 = 1.44 * 2.5
    assert resnet_covariance(s, "relu", x, x) == pytest.approx(c0 * math.exp(1.44 / 2), rel=1e-12)


def test_resnet_identity_finite_L_is_compound_interest():
    s = parse_arch("resnet:L=7,sw=0.9")
    x, y = [1.0, 0.5], [0.3, -1.0]
    c0 = 0.81 * (0.3 - 0.5) / 2
    assert resnet_covariance(s, "identity", x, y) == pytest.approx(c0 * (1 + 0.81 / 7) ** 7, rel=1e-13)
    assert resnet_covariance(s, "identity", x, y, L=None) is not None


@pytest.mark.parametrize("act", ["tanh", "relu", "erf"])
def test_resnet_finite_L_converges_to_ode_limit_at_rate_one_over_L(act):
    """The finite-L recursion is Euler's scheme for the ODE: |C_L - C_inf| ~ c / L (slope -1)."""
    x, y = [1.0, 0.5, -0.2], [0.3, -1.0, 0.4]
    s = parse_arch("resnet:L=inf,sw=1.1")
    limit = resnet_covariance(s, act, x, y)
    Ls = np.array([8, 16, 32, 64, 128])
    errs = np.array([abs(resnet_covariance(s, act, x, y, L=int(L)) - limit) for L in Ls])
    slope = np.polyfit(np.log(Ls), np.log(errs), 1)[0]
    assert -1.1 < slope < -0.9
    assert errs[-1] < 1e-2 * resnet_covariance(s, act, x, x)


def test_resnet_kernels_matrix_and_ntk():
    X = np.random.default_rng(4).standard_normal((6, 3))
    r = kernels("resnet:L=inf,sw=1", "tanh", X)
    assert r.nngp[1, 2] == pytest.approx(resnet_covariance("resnet:L=inf,sw=1", "tanh", X[1], X[2]), rel=1e-12)
    assert r.ntk[1, 2] == pytest.approx(ntk_limit("resnet:L=inf,sw=1", "tanh", X[1], X[2]), rel=1e-12)
    # identity: dTheta/dt = sw^2 (C + Theta) with C = C_0 e^t, Theta(0) = C_0  =>  Theta(1) = 2 e C_0
    x = [1.0, 0.5, -0.3]
    c0 = sum(v * v for v in x) / 3
    assert ntk_limit("resnet:L=inf,sw=1", "identity", x, x) == pytest.approx(2 * math.e * c0, rel=1e-10)


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(LimitError, match="different dimension"):
        nngp_limit("mlp:L=1", "relu", [1.0, 2.0], [1.0])
    with pytest.raises(LimitError, match="NaN or inf"):
        nngp_limit("mlp:L=1", "relu", [1.0, float("nan")], [1.0, 0.0])
    with pytest.raises(LimitError, match="NaN or inf"):
        kernels("mlp:L=1", "relu", np.array([[np.inf, 1.0]]))
    with pytest.raises(LimitError, match="polynomial activation"):
        nngp_exact("mlp:L=1", "tanh", [1], [1])
    with pytest.raises(LimitError, match="different dimension"):
        ntk_exact("mlp:L=1", "identity", [1, 2], [1])
    with pytest.raises(SpecError):
        nngp_limit("mlp:L=1", "softplus", [1.0], [1.0])
    assert issubclass(LimitError, ValueError)


def test_overflow_is_reported_not_returned():
    with pytest.raises(LimitError, match="overflow"):
        nngp_limit("mlp:L=200,sw=40", "poly:0,1,1", [1.0], [1.0])
    with pytest.raises(LimitError, match="overflow"):
        ntk_limit("mlp:L=300,sw=30", "identity", [1e5], [1e5])
