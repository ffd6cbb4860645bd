"""Leading-order (N^0) pairing sums equal the NNGP / NTK recursions of CONVENTIONS.md, exactly."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from graphexp_db.finite import (
    covariance_series,
    fuss_catalan,
    jacobian_moment_from_graphs,
    leading_covariance,
    leading_ntk,
    ntk_series,
)
from graphexp_db.spec import parse_activation, parse_arch


def _gauss(a: int, b: int, kxx, kxy, kyy) -> Fraction:
    """E[u^a v^b] for a centred bivariate Gaussian (Isserlis, summing over the u-v pairs)."""
    total = Fraction(0)
    for m in range(min(a, b) + 1):
        if (a - m) % 2 or (b - m) % 2:
            continue
        dfa = math.prod(range(a - m - 1, 0, -2))
        dfb = math.prod(range(b - m - 1, 0, -2))
        total += math.comb(a, m) * math.comb(b, m) * math.factorial(m) * kxy**m * dfa * kxx ** ((a - m) // 2) * dfb * kyy ** ((b - m) // 2)
    return total


def _expect(c, kxx, kxy, kyy, deriv=False):
    if deriv:
        c = [k * ck for k, ck in enumerate(c)][1:]
    return sum(ca * cb * _gauss(a, b, kxx, kxy, kyy) for a, ca in enumerate(c) for b, cb in enumerate(c))


def _recursion(L, sw, sb, c, x, y):
    """NNGP K_{L+1}(x, y) and NTK T_{L+1}(x, y) by the recursion of CONVENTIONS.md (exact)."""
    d = len(x)
    dot = lambda u, v: sum(a * b for a, b in zip(u, v)) / Fraction(d)  # noqa: E731
    kxx, kxy, kyy = sw**2 * dot(x, x) + sb**2, sw**2 * dot(x, y) + sb**2, sw**2 * dot(y, y) + sb**2
    txy = kxy
    for _ in range(L):
        nxx = sw**2 * _expect(c, kxx, kxx, kxx) + sb**2
        nyy = sw**2 * _expect(c, kyy, kyy, kyy) + sb**2
        nxy = sw**2 * _expect(c, kxx, kxy, kyy) + sb**2
        txy = nxy + sw**2 * _expect(c, kxx, kxy, kyy, deriv=True) * txy
        kxx, kxy, kyy = nxx, nxy, nyy
    return kxy, txy


X = [Fraction(1), Fraction(1, 2), Fraction(-3, 10)]
Y = [Fraction(1, 5), Fraction(-1), Fraction(7, 10)]


@pytest.mark.parametrize("L", [1, 2, 3])
@pytest.mark.parametrize("act,arch", [("poly:0,1,1/2", "mlp:L={L},sw=6/5,sb=0"), ("poly:1/10,1,1/2", "mlp:L={L},sw=6/5,sb=3/10"),
                                      ("poly:0,1,0,1/3", "mlp:L={L},sw=1,sb=1/2")])
def test_leading_sums_equal_the_nngp_and_ntk_recursions(L, act, arch):
    spec = parse_arch(arch.format(L=L))
    c = parse_activation(act).poly_coeffs
    k, t = _recursion(L, spec.sw, spec.sb, c, X, Y)
    assert leading_covariance(spec, act, X, Y) == k
    assert leading_ntk(spec, act, X, Y) == t


@pytest.mark.parametrize("L", [1, 2])
def test_brute_force_leading_part_equals_the_recursive_leading_sum(L):
    """The N^0 coefficient of the full pairing sum (all graphs, all pairings) equals the sum over
    leading pairings only, and the recursion."""
    spec = parse_arch(f"mlp:L={L},sw=6/5,sb=3/10")
    act = "poly:1/10,1,1/2"
    cov, ntk = covariance_series(spec, act, X, Y), ntk_series(spec, act, X, Y)
    k, t = _recursion(L, spec.sw, spec.sb, parse_activation(act).poly_coeffs, X, Y)
    assert cov[0] == leading_covariance(spec, act, X, Y) == k
    assert ntk[0] == leading_ntk(spec, act, X, Y) == t


def test_dag_leading_sum_equals_the_dag_recursion():
    spec = parse_arch('{"kind":"dag","edges":[[0,1],[1,2],[0,2]],"sw":1,"sb":0.5}')
    act = "poly:0,1,1/2"
    c = parse_activation(act).poly_coeffs
    d = len(X)
    G0 = lambda u, v: sum(a * b for a, b in zip(u, v)) / Fraction(d)  # noqa: E731
    sb2 = Fraction(1, 4)
    k1 = {(a, b): G0(u, v) + sb2 for (a, u) in (("x", X), ("y", Y)) for (b, v) in (("x", X), ("y", Y))}
    g1xy = _expect(c, k1[("x", "x")], k1[("x", "y")], k1[("y", "y")])
    k2 = Fraction(1, 2) * (G0(X, Y) + g1xy) + sb2  # K_v = sw^2/|in(v)| * sum_u G_u + sb^2
    assert leading_covariance(spec, act, X, Y) == k2
    assert covariance_series(spec, act, X, Y)[0] == k2


@pytest.mark.parametrize("L", [1, 2])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_jacobian_genus0_words_give_fuss_catalan_for_identity(L, k):
    assert jacobian_moment_from_graphs(L, k, 1.5, lambda l, j: 1.0) == pytest.approx(1.5 ** (2 * k * (L + 1)) * fuss_catalan(L + 1, k))
