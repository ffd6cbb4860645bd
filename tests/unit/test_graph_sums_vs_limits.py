"""Graph sums of the catalogue meet the closed forms of the limits engine (issue 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphexp_db.finite import jacobian_moment_from_graphs, leading_covariance, leading_ntk, truncated_graph_sums
from graphexp_db.gaussian import derivative_measure
from graphexp_db.limits import jacobian_moments, jacobian_q, nngp_exact, nngp_limit, ntk_exact, ntk_limit
from graphexp_db.spec import parse_arch

X, Y = ["1", "0.5", "-0.3"], ["0.2", "-1", "0.7"]


@pytest.mark.parametrize("arch", ["mlp:L=1,sw=1.2,sb=0.1", "mlp:L=3,sw=1,sb=0.3", '{"kind":"dag","edges":[[0,1],[1,2],[0,2],[2,3],[1,3]],"sw":1.1,"sb":0.2}'])
def test_leading_graph_sums_equal_the_limits_engine_exactly(arch):
    spec = parse_arch(arch)
    act = "poly:0.1,1,0.5,-0.2"
    from fractions import Fraction

    x, y = [Fraction(v) for v in X], [Fraction(v) for v in Y]
    assert leading_covariance(spec, act, x, y) == nngp_exact(spec, act, x, y)
    assert leading_ntk(spec, act, x, y) == ntk_exact(spec, act, x, y)


@pytest.mark.parametrize(
    "act,arch,x,y,orders,tol",
    [
        ("sin", "mlp:L=2,sw=1.2,sb=0.1", X, Y, [3, 7, 11, 17], 1e-8),
        # erf's Gaussian-moment series has a finite radius (layer variances below about 1/4)
        ("erf", "mlp:L=2,sw=1,sb=0.1", ["0.5", "0.25", "-0.15"], ["0.1", "-0.5", "0.35"], [3, 7, 17, 25], 1e-8),
    ],
)
def test_truncated_graph_sums_converge_to_the_closed_forms(act, arch, x, y, orders, tol):
    spec = parse_arch(arch)
    xf, yf = [float(v) for v in x], [float(v) for v in y]
    closed_k, closed_t = nngp_limit(spec, act, xf, yf), ntk_limit(spec, act, xf, yf)
    table = truncated_graph_sums(spec, act, x, y, orders)
    errs_k = [abs(float(k) - closed_k) for _, k, _ in table]
    errs_t = [abs(float(t) - closed_t) for _, _, t in table]
    assert errs_k[-1] < tol and errs_t[-1] < tol
    assert errs_k[-1] < errs_k[1] < errs_k[0] and errs_t[-1] < errs_t[1] < errs_t[0]


def _mu(act, q):
    """mu(l, j) = E[phi'(z)^j], z ~ N(0, q_l), from the law of phi'(z)^2 when j is even."""

    def mu(level, j):
        if act == "relu":
            return 0.5
        t, w = derivative_measure(act, q[level - 1], kmax=max(1, j))
        return float(np.sum(w * t ** (j / 2)))

    return mu


@pytest.mark.parametrize("act", ["tanh", "relu", "erf"])
@pytest.mark.parametrize("L", [1, 2])
def test_genus0_jacobian_words_equal_the_free_probability_moments(act, L):
    spec = f"mlp:L={L},sw=1.3,sb=0.2"
    q = jacobian_q(spec, act, 1.0)
    free = jacobian_moments(spec, act, 1.0, 3, method="free")
    for k in (1, 2, 3):
        graphs = jacobian_moment_from_graphs(L, k, 1.3, _mu(act, q))
        assert math.isclose(graphs, free[k - 1], rel_tol=1e-9), (k, graphs, free[k - 1])


@pytest.mark.parametrize("L", [1, 2, 4])
def test_resnet_kernels_equal_the_resnet_graph_sums(L):
    """ResNet operator graphs (branch matrices shared through the skips, 1/sqrt(L) scale): the
    leading sums equal the covariance recursion and the NTK recursion of the limits engine."""
    spec = parse_arch(f"resnet:L={L},sw=1.1")
    act = "poly:0.1,1,0.5"
    xf, yf = [float(v) for v in X], [float(v) for v in Y]
    assert float(leading_covariance(spec, act, X, Y)) == pytest.approx(nngp_limit(spec, act, xf, yf), rel=1e-12)
    assert float(leading_ntk(spec, act, X, Y)) == pytest.approx(ntk_limit(spec, act, xf, yf), rel=1e-12)


def test_resnet_ntk_converges_to_its_ode_limit():
    xs, ys = [1.0, 0.0], [0.6, 0.8]
    inf = ntk_limit("resnet:L=inf,sw=1", "tanh", xs, ys)
    errs = [abs(ntk_limit(f"resnet:L={L},sw=1", "tanh", xs, ys) - inf) for L in (16, 64, 256)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-3
    assert errs[0] / errs[2] == pytest.approx(16, rel=0.2)  # O(1/L)
