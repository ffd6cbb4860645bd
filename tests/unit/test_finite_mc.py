"""Exact finite-width sums against Monte Carlo of the actual networks (fixed seeds, |z| < 4)."""

from fractions import Fraction

import numpy as np
import pytest

from graphexp_db.finite import covariance_series, fourpoint_series, trace_series
from graphexp_db.spec import parse_arch

X = ["1", "0.5", "-0.3"]
Y = ["0.2", "-1", "0.7"]
ACT = "poly:1/10,1,1/2"
COEFFS = (0.1, 1.0, 0.5)


def _phi(z):
    return COEFFS[0] + COEFFS[1] * z + COEFFS[2] * z * z


def _mlp_outputs(L, sw, sb, inputs, N, S, rng, batch=50_000):
    """Outputs f(x) of S independent MLP(L) draws (CONVENTIONS.md), one column per input."""
    inputs = np.array([[float(v) for v in x] for x in inputs])  # (M, d)
    d = inputs.shape[1]
    out = []
    for start in range(0, S, batch):
        B = min(batch, S - start)
        h = sw * np.einsum("bnd,md->bmn", rng.standard_normal((B, N, d)), inputs) / np.sqrt(d)
        h += sb * rng.standard_normal((B, 1, N))
        for _ in range(L - 1):
            h = sw * np.einsum("bnk,bmk->bmn", rng.standard_normal((B, N, N)), _phi(h)) / np.sqrt(N) + sb * rng.standard_normal((B, 1, N))
        f = sw * np.einsum("bk,bmk->bm", rng.standard_normal((B, N)), _phi(h)) / np.sqrt(N) + sb * rng.standard_normal((B, 1))
        out.append(f)
    return np.concatenate(out)


def _value(series, N):
    return float(sum(v * Fraction(1, N) ** j for j, v in series.items()))


@pytest.mark.parametrize("N", [2, 4, 8])
def test_covariance_depth2_matches_monte_carlo(N):
    arch = parse_arch("mlp:L=2,sw=1.2,sb=0.3")
    series = covariance_series(arch, ACT, X, Y)
    assert set(series) == {0, 1}  # a genuine 1/N correction, nothing beyond for L = 2
    f = _mlp_outputs(2, 1.2, 0.3, [X, Y], N, 400_000, np.random.default_rng(100 + N))
    prod = f[:, 0] * f[:, 1]
    z = (prod.mean() - _value(series, N)) / (prod.std() / np.sqrt(len(prod)))
    assert abs(z) < 4, (N, prod.mean(), _value(series, N), z)
    if N == 2:  # the test has power: the infinite-width value alone is rejected
        z0 = (prod.mean() - float(series[0])) / (prod.std() / np.sqrt(len(prod)))
        assert abs(z0) > 4


@pytest.mark.parametrize("N", [2, 4, 8])
def test_connected_fourpoint_depth2_matches_monte_carlo(N):
    """Depth 2 = one hidden layer (L = 1, two weight matrices)."""
    arch = parse_arch("mlp:L=1,sw=1.2,sb=0.3")
    series = fourpoint_series(arch, ACT, X)
    assert set(series) == {1}
    f = _mlp_outputs(1, 1.2, 0.3, [X], N, 1_000_000, np.random.default_rng(200 + N))[:, 0]
    # batch means give the error bar of the nonlinear estimator E f^4 - 3 (E f^2)^2
    stats = [np.mean(b**4) - 3 * np.mean(b**2) ** 2 for b in np.array_split(f, 100)]
    est, err = np.mean(stats), np.std(stats, ddof=1) / np.sqrt(len(stats))
    z = (est - _value(series, N)) / err
    assert abs(z) < 4, (N, est, _value(series, N), z)


@pytest.mark.parametrize("p,k", [(1, 2), (2, 2), (1, 3)])
@pytest.mark.parametrize("N", [2, 4, 8])
def test_ginibre_trace_series_match_monte_carlo(p, k, N):
    series = trace_series(p, k, "gaussian")
    rng = np.random.default_rng(7 * N + p + 10 * k)
    S = 100_000
    A = np.broadcast_to(np.eye(N), (S, N, N))
    for _ in range(p):
        A = rng.standard_normal((S, N, N)) / np.sqrt(N) @ A
    M = A @ A.transpose(0, 2, 1)
    val = np.trace(np.linalg.matrix_power(M, k), axis1=1, axis2=2) / N
    z = (val.mean() - _value(series, N)) / (val.std() / np.sqrt(S))
    assert abs(z) < 4, (p, k, N, val.mean(), _value(series, N))


@pytest.mark.parametrize("ensemble,sampler", [
    ("rademacher", lambda rng, s: rng.choice([-1.0, 1.0], size=s)),
    ("uniform", lambda rng, s: rng.uniform(-np.sqrt(3), np.sqrt(3), size=s)),
    ("sparse:1/2", lambda rng, s: (rng.random(s) < 0.5) * rng.standard_normal(s) / np.sqrt(0.5)),
])
def test_non_gaussian_cumulant_sums_match_monte_carlo(ensemble, sampler):
    series = trace_series(1, 3, ensemble)
    N, S = 3, 200_000
    rng = np.random.default_rng(11)
    X_ = sampler(rng, (S, N, N)) / np.sqrt(N)
    M = X_ @ X_.transpose(0, 2, 1)
    val = np.trace(M @ M @ M, axis1=1, axis2=2) / N
    z = (val.mean() - _value(series, N)) / (val.std() / np.sqrt(S))
    assert abs(z) < 4, (ensemble, val.mean(), _value(series, N))


@pytest.mark.parametrize("N", [2, 4])
def test_resnet_covariance_matches_monte_carlo(N):
    """ResNet(2) with 1/sqrt(L) branches (CONVENTIONS.md): h1 = sw W1 x/sqrt d, h_{l+1} = h_l + branch."""
    arch = parse_arch("resnet:L=2,sw=1.1")
    series = covariance_series(arch, "poly:0,1,1/2", X, Y)
    rng = np.random.default_rng(300 + N)
    S, L, sw = 400_000, 2, 1.1
    xs = np.array([[float(v) for v in X], [float(v) for v in Y]])
    h = sw * np.einsum("snd,md->smn", rng.standard_normal((S, N, 3)), xs) / np.sqrt(3)
    for _ in range(L):
        z = h + 0.5 * h * h
        h = h + sw * np.einsum("snk,smk->smn", rng.standard_normal((S, N, N)), z) / np.sqrt(N * L)
    prod = h[:, 0, 0] * h[:, 1, 0]
    z = (prod.mean() - _value(series, N)) / (prod.std() / np.sqrt(S))
    assert abs(z) < 4, (N, prod.mean(), _value(series, N))
