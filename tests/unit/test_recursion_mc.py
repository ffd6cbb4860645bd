"""The layer recursion against Monte Carlo of the networks themselves (fixed seeds, |z| < 4).

* polynomial activations, complete exact polynomials: covariance and NTK mean of a depth-4 MLP
  (quadratic activation) and the connected 4-point functions (at x and (x, x, y, y)) of a depth-3
  MLP (cubic activation), at N = 4..16, 10^6 networks each, error bars from batch means;
* relu and tanh to N^-2: the exact law of the hidden-layer kernels (given layer l, the next
  preactivations are i.i.d. N(0, G_(l+1)) across neurons) sampled at N = 8; the truncated series
  a0 + a1/N + a2/N^2 is within 4 sigma, while a0 + a1/N alone is rejected;
* relu and tanh at L = 3 over N = 32..512: the residual MC(N) - (a0 + a1/N) falls like N^-2 (fitted
  slope -2 +- 0.4) and N^2 times it equals a2 within 4 sigma at every N.  The residual is ~1e-6 at
  N = 512, so the Monte Carlo uses the kernel chain with control variates up to third order
  (kernel_chain_cv.py), whose error falls like N^-2 too.
"""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from kernel_chain_cv import covariance_mc

from graphexp_db.recursion import series
from graphexp_db.spec import parse_arch

X = [1.0, 0.5, -0.3]
Y = [0.2, -1.0, 0.7]


def _value(coeffs, N):
    return float(sum(F(v) * F(1, N) ** j if isinstance(v, F) else v * N ** (-j) for j, v in coeffs.items()))


def _poly(c):
    def phi(z):
        return sum(ck * z**k for k, ck in enumerate(c))

    def dphi(z):
        return sum(k * ck * z ** (k - 1) for k, ck in enumerate(c) if k)

    return phi, dphi


def _network(L, sw, sb, c, N, S, seed, batch=25_000, ntk=False):
    """f(x), f(y) and (optionally) the empirical NTK Theta(x, y) of S independent MLP(L) draws."""
    phi, dphi = _poly(c)
    rng = np.random.default_rng(seed)
    inp = np.array([X, Y])                       # (2, d)
    d = inp.shape[1]
    fs, thetas = [], []
    for start in range(0, S, batch):
        B = min(batch, S - start)
        Ws = [rng.standard_normal((B, N, d))] + [rng.standard_normal((B, N, N)) for _ in range(L - 1)] + [rng.standard_normal((B, 1, N))]
        bs = [rng.standard_normal((B, 1, N)) for _ in range(L)] + [rng.standard_normal((B, 1, 1))]
        a = np.broadcast_to(inp, (B, 2, d))      # activations of the previous layer
        acts, pre = [a], []
        for l in range(L + 1):
            width = a.shape[2]
            h = sw * np.einsum("bnk,bmk->bmn", Ws[l], a) / np.sqrt(width) + sb * bs[l]
            pre.append(h)
            a = phi(h)
            acts.append(a)
        f = pre[-1][:, :, 0]                     # (B, 2)
        fs.append(f)
        if ntk:
            delta = np.ones((B, 2, 1))           # df/dh at the output
            theta = np.zeros(B)
            for l in range(L, -1, -1):
                prev = acts[l]
                width = prev.shape[2]
                phi_xy = np.einsum("bk,bk->b", prev[:, 0], prev[:, 1]) / width
                B_xy = np.einsum("bk,bk->b", delta[:, 0], delta[:, 1])
                theta += (sw**2 * phi_xy + sb**2) * B_xy
                if l:
                    delta = dphi(pre[l - 1]) * (sw / np.sqrt(width)) * np.einsum("bmn,bim->bin", Ws[l], delta)
            thetas.append(theta)
    f = np.concatenate(fs)
    return f, (np.concatenate(thetas) if ntk else None)


def _z(samples, target):
    return (samples.mean() - target) / (samples.std() / np.sqrt(len(samples)))


@pytest.mark.parametrize("N", [4, 16])
def test_depth4_quadratic_covariance_and_ntk_match_monte_carlo(N):
    L, sw, sb, c = 4, 1.0, 0.2, (0.0, 1.0, 0.1)
    spec = parse_arch("mlp:L=4,sw=1,sb=0.2")
    xs = [[F(str(v)) for v in X], [F(str(v)) for v in Y]]
    cov = series(spec, "poly:0,1,1/10", xs, "covariance")
    ntk = series(spec, "poly:0,1,1/10", xs, "ntk")
    assert len(cov) > 3 and len(ntk) > 3        # genuinely beyond 1/N
    f, theta = _network(L, sw, sb, c, N, 1_000_000, seed=10 + N, ntk=True)
    prod = f[:, 0] * f[:, 1]
    assert abs(_z(prod, _value(cov, N))) < 4
    assert abs(_z(theta, _value(ntk, N))) < 4
    if N == 4:   # power: the infinite-width values alone are rejected
        assert abs(_z(theta, float(ntk[0]))) > 4


def _batch_stat(f, fn, n_batches=100):
    stats = [fn(b) for b in np.array_split(f, n_batches)]
    return np.mean(stats), np.std(stats, ddof=1) / np.sqrt(n_batches)


@pytest.mark.parametrize("N", [4, 8])
def test_depth3_cubic_fourpoint_functions_match_monte_carlo(N):
    L, sw, sb, c = 3, 1.0, 0.1, (0.0, 1.0, 0.0, -0.01)
    spec = parse_arch("mlp:L=3,sw=1,sb=0.1")
    xs = [[F(str(v)) for v in X], [F(str(v)) for v in Y]]
    at_x = series(spec, "poly:0,1,0,-1/100", xs[:1], "fourpoint")
    mixed = series(spec, "poly:0,1,0,-1/100", xs, "fourpoint-mixed")
    f, _ = _network(L, sw, sb, c, N, 1_000_000, seed=20 + N)
    est, err = _batch_stat(f[:, 0], lambda b: np.mean(b**4) - 3 * np.mean(b**2) ** 2)
    assert abs(est - _value(at_x, N)) < 4 * err, (est, _value(at_x, N), err)
    mixed_fn = lambda b: np.mean(b[:, 0] ** 2 * b[:, 1] ** 2) - np.mean(b[:, 0] ** 2) * np.mean(b[:, 1] ** 2) - 2 * np.mean(b[:, 0] * b[:, 1]) ** 2  # noqa: E731
    est, err = _batch_stat(f, mixed_fn)
    assert abs(est - _value(mixed, N)) < 4 * err, (est, _value(mixed, N), err)
    assert abs(est) > 4 * err   # a non-zero connected function is resolved


def _kernel_chain(phi, L, sw, sb, N, S, seed, batch=20_000):
    """G_(L+1)(x, y) from the exact Markov chain of the hidden-layer kernels of MLP(L)."""
    rng = np.random.default_rng(seed)
    inp = np.array([X, Y])
    K1 = sw**2 * inp @ inp.T / inp.shape[1] + sb**2
    out = []
    for start in range(0, S, batch):
        B = min(batch, S - start)
        G = np.broadcast_to(K1, (B, 2, 2))
        for _ in range(L):
            # 2x2 Cholesky that tolerates a singular kernel (few active relu neurons)
            a = np.sqrt(G[:, 0, 0])
            b = np.where(a > 0, G[:, 0, 1] / np.where(a > 0, a, 1.0), 0.0)
            c = np.sqrt(np.maximum(G[:, 1, 1] - b * b, 0.0))
            z = rng.standard_normal((B, N, 2))
            h = np.stack([a[:, None] * z[..., 0], b[:, None] * z[..., 0] + c[:, None] * z[..., 1]], axis=-1)
            act = phi(h)
            G = sw**2 * np.einsum("bni,bnj->bij", act, act) / N + sb**2
        out.append(G[:, 0, 1])
    return np.concatenate(out)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_relu_and_tanh_second_order_series_match_monte_carlo(act):
    phi = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}[act]
    L, sw, sb, N = 3, 1.5, 0.1, 8
    s = series(parse_arch("mlp:L=3,sw=1.5,sb=0.1"), act, [X, Y], "covariance", max_order=2)
    g = _kernel_chain(phi, L, sw, sb, N, 2_000_000, seed=3)
    z2 = _z(g, s[0] + s[1] / N + s[2] / N**2)
    z1 = _z(g, s[0] + s[1] / N)
    assert abs(z2) < 4, (act, z2)
    assert abs(z1) > 4, (act, z1)   # the N^-2 coefficient is resolved


@pytest.mark.parametrize("act,samples", [("relu", 40_000), ("tanh", 4_000)])
def test_relu_and_tanh_residual_after_first_order_falls_like_n_to_minus_two(act, samples):
    s = series(parse_arch("mlp:L=3,sw=1.5,sb=0.1"), act, [X, Y], "covariance", max_order=2)
    a0, a1, a2 = (float(s[j]) for j in range(3))
    Ns = np.array([32, 64, 128, 256, 512])
    res, err = np.array([covariance_mc(act, X, Y, 3, 1.5, 0.1, int(N), samples, seed=int(N)) for N in Ns]).T
    res = res - a0 - a1 / Ns
    assert np.all(res > 4 * err), (res, err)            # the residual is resolved at every N
    # weighted least squares of log(residual) on log(N), errors propagated to the log
    w = (res / err) ** 2
    A = np.stack([np.ones_like(Ns, dtype=float), np.log(Ns)], axis=1)
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    slope = (cov @ A.T @ (w * np.log(res)))[1]
    assert abs(slope + 2) < 0.4, (act, slope, np.sqrt(cov[1, 1]))
    z = (res * Ns**2 - a2) / (err * Ns**2)
    assert np.all(np.abs(z) < 4), (act, z)
