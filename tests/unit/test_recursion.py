"""The layer recursion (graphexp_db.recursion) against independent references.

* the graph route (every operator graph and Wick pairing) exactly, wherever both run;
* its own complete polynomial: a truncation at N^-J keeps exactly the first J + 1 coefficients;
* deep linear networks: connected 4-point function 3 K^2 ((1 + 2/N)^L - 1) (derived in the docstring);
* the moment oracles: relu/tanh/erf/gelu/sin against Price's theorem by finite differences and
  against Monte Carlo; a polynomial L2 approximation of tanh converges to the tanh coefficients.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from graphexp_db.finite import covariance_series, fourpoint_series, ntk_series
from graphexp_db.moments import oracle_for
from graphexp_db.recursion import series
from graphexp_db.spec import parse_arch

X = [F("1"), F("0.5"), F("-0.3")]
Y = [F("0.2"), F("-1"), F("0.7")]
DAG = '{"kind":"dag","edges":[[0,1],[1,2],[0,2],[2,3],[1,3]],"sw":1.1,"sb":0.2}'
DAG2 = '{"kind":"dag","edges":[[0,1],[0,2],[1,3],[2,3]],"sw":0.9,"sb":0.5}'

GRAPH_CASES = [
    ("mlp:L=1,sw=1.2,sb=0.3", "poly:0.1,1,0.5", ("covariance", "ntk", "fourpoint")),
    ("mlp:L=1,sw=0.7,sb=0.2", "poly:0,1,0,1/3", ("covariance", "ntk")),
    ("mlp:L=2,sw=1.2,sb=0.3", "poly:0.1,1,0.5", ("covariance", "ntk")),
    ("mlp:L=2,sw=1,sb=0.5", "poly:0,1,1/4", ("covariance", "ntk")),
    ("mlp:L=3,sw=1,sb=0", "identity", ("covariance", "ntk", "fourpoint")),
    (DAG, "poly:0,1,1/2", ("covariance", "ntk")),
    (DAG2, "poly:0.1,1,0.5", ("covariance", "ntk", "fourpoint")),
    (DAG, "identity", ("covariance", "ntk", "fourpoint")),
]


@pytest.mark.parametrize("arch,act,quantities", GRAPH_CASES, ids=[f"{a[:22]}-{b}" for a, b, _ in GRAPH_CASES])
def test_recursion_equals_graph_sums_exactly(arch, act, quantities):
    spec = parse_arch(arch)
    for q in quantities:
        if q == "fourpoint":
            graphs = fourpoint_series(spec, act, X, method="graphs", limit=10**7)
            rec = fourpoint_series(spec, act, X, method="recursion")
        else:
            fn = covariance_series if q == "covariance" else ntk_series
            graphs = fn(spec, act, X, Y, method="graphs")
            rec = fn(spec, act, X, Y, method="recursion")
        assert graphs.method == "graphs" and rec.method == "recursion"
        assert dict(rec) == dict(graphs), (q, rec, graphs)
        assert all(isinstance(v, F) for v in rec.values())


@pytest.mark.parametrize("quantity", ["covariance", "ntk", "fourpoint", "fourpoint-mixed"])
def test_truncation_keeps_exactly_the_leading_coefficients(quantity):
    spec = parse_arch("mlp:L=3,sw=1,sb=0.2")
    xs = [X] if quantity == "fourpoint" else [X, Y]
    full = series(spec, "poly:0,1,1/2", xs, quantity)
    assert len(full) >= 4
    for J in range(4):
        cut = series(spec, "poly:0,1,1/2", xs, quantity, max_order=J)
        assert cut == {j: v for j, v in full.items() if j <= J}


def test_mixed_fourpoint_at_y_equal_x_is_the_fourpoint_at_x():
    spec = parse_arch("mlp:L=3,sw=1.1,sb=0.3")
    assert series(spec, "poly:0,1,1/3", [X, X], "fourpoint-mixed") == series(spec, "poly:0,1,1/3", [X], "fourpoint")


@pytest.mark.parametrize("L", [1, 4, 10])
def test_deep_linear_fourpoint_closed_form(L):
    """phi = identity, sb = 0: G_(l+1) = G_l chi2_N / N independently per layer, so with
    K = sw^(2(L+1)) |x|^2 / d,  E[G^2] = K^2 (1 + 2/N)^L  and
    E f^4 - 3 (E f^2)^2 = 3 (E G^2 - (E G)^2) = 3 K^2 ((1 + 2/N)^L - 1)."""
    sw = F(6, 5)
    spec = parse_arch(f"mlp:L={L},sw=6/5,sb=0")
    K = sw ** (2 * (L + 1)) * sum(v * v for v in X) / len(X)
    expected = {j: 3 * K**2 * math.comb(L, j) * 2**j for j in range(1, L + 1)}
    assert series(spec, "identity", [X], "fourpoint") == expected
    assert series(spec, "identity", [X, Y], "covariance") == {0: sw ** (2 * (L + 1)) * sum(a * b for a, b in zip(X, Y)) / 3}


def test_deep_linear_ntk_is_exact_at_infinite_width_for_one_hidden_layer():
    # L = 1, identity: Theta = |phi(h1)|^2 sw^2/N + sb^2 + sw^2 (x.y/d) |W2|^2 sw^2 / N + ...: mean (L+1) K for sb = 0
    spec = parse_arch("mlp:L=1,sw=1.3,sb=0")
    K = F(13, 10) ** 4 * sum(a * b for a, b in zip(X, Y)) / 3
    assert series(spec, "identity", [X, Y], "ntk") == {0: 2 * K}


# --------------------------------------------------------------------------- oracles
K2 = ((0.9, 0.35), (0.35, 1.6))


def _perturbed(K, c, h):
    k = [list(r) for r in K]
    if c == (0, 1):
        k[0][1] += h
        k[1][0] += h
    else:
        k[c[0]][c[1]] += h
    return tuple(tuple(r) for r in k)


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "gelu", "sin"])
@pytest.mark.parametrize("i,j,m,n", [(1, 1, 0, 0), (2, 1, 1, 0), (1, 2, 1, 1), (2, 2, 2, 1), (3, 1, 2, 2), (1, 1, 2, 2)])
def test_price_theorem_by_finite_differences(act, i, j, m, n):
    """d/dK_xy T(i,j,m,n) = T(i,j,m+1,n+1) and d/dK_xx T = T(i,j,m+2,n)/2: an independent check of
    the derivative machinery (Hermite integration by parts, orthant recursion, jets)."""
    h = 1e-4
    base = oracle_for(act, K2)

    def T(K, *a):
        return oracle_for(act, K).T(*a)

    d_xy = (T(_perturbed(K2, (0, 1), h), i, j, m, n) - T(_perturbed(K2, (0, 1), -h), i, j, m, n)) / (2 * h)
    d_xx = (T(_perturbed(K2, (0, 0), h), i, j, m, n) - T(_perturbed(K2, (0, 0), -h), i, j, m, n)) / (2 * h)
    assert d_xy == pytest.approx(base.T(i, j, m + 1, n + 1), rel=1e-5, abs=1e-7)
    assert d_xx == pytest.approx(base.T(i, j, m + 2, n) / 2, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "gelu", "sin"])
def test_oracle_moments_against_monte_carlo(act):
    from scipy.special import erf, ndtr

    phi = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "erf": erf, "gelu": lambda z: z * ndtr(z), "sin": np.sin}[act]
    rng = np.random.default_rng(7)
    z = rng.standard_normal((2_000_000, 2)) @ np.linalg.cholesky(np.array(K2)).T
    fu, fv = phi(z[:, 0]), phi(z[:, 1])
    o = oracle_for(act, K2)
    for i, j in [(1, 1), (2, 1), (2, 2), (3, 1), (2, 0)]:
        sample = fu**i * fv**j
        err = sample.std() / math.sqrt(len(sample))
        assert abs(sample.mean() - o.T(i, j, 0, 0)) < 4.5 * err, (act, i, j)


def test_polynomial_l2_approximations_of_tanh_converge_to_the_tanh_coefficients():
    """Least-squares polynomials of tanh under N(0, s^2) (s^2 above every layer variance) run through
    the exact route; their N^0 and N^-1 coefficients converge to the tanh ones (quadrature oracle)."""
    spec = parse_arch("mlp:L=2,sw=1.2,sb=0.1")
    xs = [[1.0, 0.5, -0.3], [0.2, -1.0, 0.7]]
    target = series(spec, "tanh", xs, "covariance", max_order=1)
    z, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()
    s = 1.0
    errs = []
    for D in (5, 9, 13, 17):
        # L2(N(0, s^2)) projection on Hermite polynomials, then the monomial coefficients
        he = [np.polynomial.hermite_e.HermiteE.basis(k) for k in range(D + 1)]
        c = [float(np.sum(w * np.tanh(s * z) * b(z))) / math.factorial(k) for k, b in enumerate(he)]
        poly = sum((ck * b for ck, b in zip(c, he)), np.polynomial.hermite_e.HermiteE([0])).convert(kind=np.polynomial.Polynomial)
        coeffs = [F(float(a)) / F(float(s)) ** k for k, a in enumerate(poly.coef)]   # p(z) ~ tanh(z), z = s t
        act = "poly:" + ",".join(str(q) for q in coeffs)
        approx = series(spec, act, [[F(v) for v in x] for x in xs], "covariance", max_order=1)
        errs.append([abs(float(approx.get(j, 0)) - target[j]) for j in (0, 1)])
    for j in (0, 1):
        assert all(a[j] > b[j] for a, b in zip(errs, errs[1:])), errs
        assert errs[-1][j] < 5e-3 * abs(target[j]), errs


def test_quadrature_errors_are_reported_and_small():
    r = covariance_series(parse_arch("mlp:L=3,sw=1.5,sb=0.1"), "tanh", [1, 0.5, -0.3], [0.2, -1, 0.7], max_order=2)
    assert r.method == "recursion" and not r.exact and r.oracle == "quadrature" and r.max_order == 2
    assert set(r.errors) == {0, 1, 2}
    assert all(e < 1e-4 * max(1.0, abs(r[j])) for j, e in r.errors.items())
    # the values are the refined rule's; the stated error (their change from the coarse rule) bounds
    # their distance to a rule 4x finer, and conservatively: that distance is at rounding level
    fine = series(parse_arch("mlp:L=3,sw=1.5,sb=0.1"), "tanh", [[1, 0.5, -0.3], [0.2, -1, 0.7]], "covariance", max_order=2, resolution=4)
    assert all(abs(fine[j] - r[j]) <= r.errors[j] for j in r)
    assert all(abs(fine[j] - r[j]) < 1e-13 for j in r)


def test_non_polynomial_defaults_to_first_order():
    r = ntk_series(parse_arch("mlp:L=2"), "relu", [1, 0.5], [0.3, -1])
    assert r.max_order == 1 and set(r) <= {0, 1} and r.oracle == "closed-form"


# --------------------------------------------------------------------------- ResNets
RESNET_CASES = [("resnet:L=1,sw=1", "poly:0,1,1/2", ("covariance", "ntk", "fourpoint")),
                ("resnet:L=1,sw=1.2", "poly:0.1,1,0.3", ("covariance", "ntk", "fourpoint")),
                ("resnet:L=2,sw=1", "poly:0,1,1/2", ("covariance", "ntk")),
                ("resnet:L=2,sw=1.2", "poly:0.1,1,0.3", ("covariance", "ntk"))]


@pytest.mark.parametrize("arch,act,quantities", RESNET_CASES)
def test_resnet_recursion_equals_graph_sums_exactly(arch, act, quantities):
    """Finite-L ResNets (branches share W across the skips): the empirical-moment recursion equals the
    sum over every operator graph and Wick pairing."""
    spec = parse_arch(arch)
    x, y = [F(1), F(1, 2)], [F(1, 5), F(-1)]
    for q in quantities:
        if q == "fourpoint":
            graphs = fourpoint_series(spec, act, x, method="graphs", limit=10**7)
            rec = fourpoint_series(spec, act, x, method="recursion")
        else:
            fn = covariance_series if q == "covariance" else ntk_series
            graphs = fn(spec, act, x, y, method="graphs", limit=10**7)
            rec = fn(spec, act, x, y, method="recursion")
        assert rec.method == "recursion" and dict(rec) == dict(graphs), (q, rec, graphs)


def test_resnet_truncation_and_guard():
    spec = parse_arch("resnet:L=3,sw=1")
    x, y = [F(1), F(1, 2)], [F(1, 5), F(-1)]
    for q in ("covariance", "ntk"):
        full = series(spec, "poly:0,1,1/2", [x, y], q)
        assert len(full) == 5
        for J in (0, 1, 2):
            assert series(spec, "poly:0,1,1/2", [x, y], q, max_order=J) == {j: v for j, v in full.items() if j <= J}
    with pytest.raises(Exception, match="max-order"):
        covariance_series(spec, "poly:0,1,1/2", x, y)            # complete beyond L = 2 needs --max-order or --force
    assert covariance_series(spec, "poly:0,1,1/2", x, y, max_order=1).method == "recursion"
