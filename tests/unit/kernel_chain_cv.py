"""Monte Carlo of E[f(x) f(y)] for an MLP(L) with errors falling like N^-2: the exact kernel chain
plus control variates.  An independent check of the N^-1 and N^-2 coefficients (test_recursion_mc).

Given the hidden-layer kernel G_l (2x2 on {x, y}), the preactivations of layer l are i.i.d.
N(0, G_l) across the N neurons, so G_(l+1) = sw^2 mean_i phi(h_i) phi(h_i)^T + sb^2 is a mean of N
i.i.d. terms: its conditional mean F, covariance V and third cumulant K3 are exact functions of G_l
(V ~ 1/N, K3 ~ 1/N^2), computed here from the moments E[phi(u)^p phi(v)^q], p + q <= 6 (relu: exact
angular integrals; tanh: a 2-D trapezoid rule).  The estimator is F_xy(G_L) (the last layer
integrated out), and every monomial of degree <= 3 in the deviations D_l = G_l - F(G_(l-1)), centred
by its conditional mean given the levels below its highest level (tower property: a top factor
once -> 0, twice -> V, three times -> K3), is a control variate with mean exactly zero.  Fitted on
one half of the samples and applied to the other (no fitted-coefficient bias), they remove the
fluctuations up to O(N^-3/2): the per-sample error falls like N^-2, the size of the N^-2 term.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.polynomial.legendre import leggauss

ENTRIES = [(0, 0), (0, 1), (1, 1)]        # kernel entries xx, xy, yy
POWERS = [(2, 0), (1, 1), (0, 2)]         # each entry is phi(u)^p phi(v)^q with these (p, q)
_ACT = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}


def _relu_moment(kxx, kxy, kyy, p, q):
    """E[relu(u)^p relu(v)^q] for (u, v) ~ N(0, [[kxx, kxy], [kxy, kyy]]), vectorised over samples.

    In polar coordinates of the whitened pair, u, v > 0 is an arc of angle pi - arccos(rho) and the
    radial part is E[r^(p+q)] = 2^((p+q)/2) Gamma(1 + (p+q)/2); the angular integral of a trigonometric
    polynomial is done by Gauss-Legendre to rounding.
    """
    if p == 0 or q == 0:
        k, n = (kxx, p) if q == 0 else (kyy, q)
        return k ** (n / 2) * 2 ** (n / 2) * math.gamma((n + 1) / 2) / (2 * math.sqrt(math.pi))
    su, sv = np.sqrt(kxx), np.sqrt(kyy)
    alpha = np.arccos(np.clip(kxy / (su * sv), -1.0, 1.0))
    t, w = leggauss(40)
    lo = alpha - np.pi / 2
    th = lo[:, None] + (np.pi / 2 - lo)[:, None] * (t + 1) / 2
    ang = (np.cos(th) ** p * np.cos(th - alpha[:, None]) ** q) @ w * (np.pi / 2 - lo) / 2
    n = p + q
    return su**p * sv**q * 2 ** (n / 2) * math.gamma(1 + n / 2) * ang / (2 * np.pi)


_Z = np.linspace(-9.5, 9.5, 81)
_W = (_Z[1] - _Z[0]) * np.exp(-_Z**2 / 2) / math.sqrt(2 * math.pi)


def _tanh_moments(kxx, kxy, kyy, pq):
    """E[tanh(u)^p tanh(v)^q] on the trapezoid rule in whitened coordinates u = a z1, v = b z1 + c z2."""
    a = np.sqrt(kxx)
    b = kxy / a
    c = np.sqrt(np.maximum(kyy - b * b, 0.0))
    tu = np.tanh(a[:, None] * _Z)
    tv = np.tanh(b[:, None, None] * _Z[:, None] + c[:, None, None] * _Z[None, :])
    inner = {0: np.ones_like(tu)}
    power = tv
    for q in range(1, max(q for _, q in pq) + 1):
        inner[q] = power @ _W
        power = power * tv
    return {(p, q): (tu**p * inner[q]) @ _W for p, q in pq}


_PQ = sorted({tuple(map(sum, zip(*combo))) for k in (1, 2, 3) for combo in itertools.combinations_with_replacement(POWERS, k)})


def conditional(act, G, sw, sb, N):
    """Mean F (S, 3), covariance V (S, 3, 3) and third cumulant K3 (S, 3, 3, 3) of the next kernel."""
    kxx, kxy, kyy = G[:, 0, 0], G[:, 0, 1], G[:, 1, 1]
    if act == "relu":
        m = {pq: np.broadcast_to(_relu_moment(kxx, kxy, kyy, *pq), kxx.shape) for pq in _PQ}
    else:
        parts = [_tanh_moments(kxx[s:s + 500], kxy[s:s + 500], kyy[s:s + 500], _PQ) for s in range(0, len(kxx), 500)]
        m = {pq: np.concatenate([part[pq] for part in parts]) for pq in _PQ}

    def E(*idx):
        return m[tuple(map(sum, zip(*(POWERS[i] for i in idx))))]

    F = np.stack([sw**2 * E(i) + sb**2 for i in range(3)], axis=-1)
    V = np.empty(G.shape[:1] + (3, 3))
    K3 = np.empty(G.shape[:1] + (3, 3, 3))
    for i, j in itertools.product(range(3), repeat=2):
        V[:, i, j] = sw**4 * (E(i, j) - E(i) * E(j)) / N
    for i, j, k in itertools.product(range(3), repeat=3):
        K3[:, i, j, k] = sw**6 * (E(i, j, k) - E(i, j) * E(k) - E(i, k) * E(j) - E(j, k) * E(i)
                                  + 2 * E(i) * E(j) * E(k)) / N**2
    return F, V, K3


def sample(act, x, y, L, sw, sb, N, S, rng):
    """The estimator F_xy(G_L) (S,) and the zero-mean control variates (S, C) of S kernel chains."""
    inp = np.array([x, y], dtype=float)
    G = np.broadcast_to(sw**2 * inp @ inp.T / inp.shape[1] + sb**2, (S, 2, 2))
    levels = []
    for _ in range(L - 1):
        F, V, K3 = conditional(act, G, sw, sb, N)
        a = np.sqrt(G[:, 0, 0])
        b = G[:, 0, 1] / a
        c = np.sqrt(np.maximum(G[:, 1, 1] - b * b, 0.0))
        z = rng.standard_normal((S, N, 2))
        ph = _ACT[act](np.stack([a[:, None] * z[..., 0], b[:, None] * z[..., 0] + c[:, None] * z[..., 1]], axis=-1))
        G = sw**2 * np.einsum("sni,snj->sij", ph, ph) / N + sb**2
        levels.append((np.stack([G[:, i, j] for i, j in ENTRIES], axis=-1) - F, V, K3))
    cols = []
    variables = [(lev, i) for lev in range(len(levels)) for i in range(3)]
    for mono in itertools.chain.from_iterable(itertools.combinations_with_replacement(variables, d) for d in (1, 2, 3)):
        top = max(lev for lev, _ in mono)
        D, V, K3 = levels[top]
        hi = [i for lev, i in mono if lev == top]
        val = np.prod([D[:, i] for i in hi], axis=0)
        val = val - (V[:, hi[0], hi[1]] if len(hi) == 2 else K3[:, hi[0], hi[1], hi[2]] if len(hi) == 3 else 0.0)
        for lev, i in mono:
            if lev < top:
                val = val * levels[lev][0][:, i]
        cols.append(val)
    return conditional(act, G, sw, sb, N)[0][:, 1], np.stack(cols, axis=1)


def covariance_mc(act, x, y, L, sw, sb, N, S, seed):
    """E[f(x) f(y)] of MLP(L >= 2) at width N and its standard error (split-sample control variates)."""
    est, C = sample(act, x, y, L, sw, sb, N, S, np.random.default_rng(seed))
    h = S // 2
    out = []
    for fit, use in ((slice(0, h), slice(h, None)), (slice(h, None), slice(0, h))):
        beta = np.linalg.lstsq(C[fit] - C[fit].mean(0), est[fit] - est[fit].mean(), rcond=None)[0]
        out.append(est[use] - C[use] @ beta)
    y_ = np.concatenate(out)
    return float(y_.mean()), float(y_.std() / math.sqrt(S))
