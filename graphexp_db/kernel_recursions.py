"""The kernel recursions over a layer DAG, on whole tiles of input pairs (the work of
:func:`graphexp_db.kernels.kernels`): the general path through the activation's dual (any
activation, any array backend), the ResNet recursion and its ODE limit, and the closed-form fast
path for relu and erf on the CPU (one diagonal recursion per row, then in-place ufunc passes)."""

from __future__ import annotations

import math
import os

import numpy as np

from .gaussian import LimitError, dual
from .spec import MLPSpec


def _parents_of(spec) -> tuple[tuple[int, ...], ...]:
    """Parents of nodes 0..sink; an MLP(L) is the chain 0 -> 1 -> ... -> L+1."""
    if isinstance(spec, MLPSpec):
        return ((),) + tuple((v - 1,) for v in range(1, spec.L + 2))
    order = spec.order
    n = spec.n_nodes
    parents: list[tuple[int, ...]] = [()] * n
    for v in order:
        parents[v] = spec.parents(v)
    # renumber so that the topological order is 0..n-1 (the recursion walks it in order)
    pos = {v: i for i, v in enumerate(order)}
    out: list[tuple[int, ...]] = [()] * n
    for v in order:
        out[pos[v]] = tuple(sorted(pos[u] for u in parents[v]))
    return tuple(out)



def _dag_matrix(parents, spec, act, kxx0, g0, kyy0, xp, n):
    sw2 = float(spec.sw) ** 2
    sb2 = float(spec.sb) ** 2
    # per node: (G_xx, G_xy, G_yy) and the derivative dual Gdot_xy, and NTK Theta_xy
    G = {0: (kxx0, g0, kyy0)}
    Gdot = {}
    theta = {}
    sink = len(parents) - 1
    with np.errstate(all="ignore"):
        for v in range(1, sink + 1):
            ps = parents[v]
            scale = sw2 / len(ps)
            kxx = scale * sum(G[u][0] for u in ps) + sb2
            kxy = scale * sum(G[u][1] for u in ps) + sb2
            kyy = scale * sum(G[u][2] for u in ps) + sb2
            theta[v] = kxy + scale * sum(Gdot[u] * theta[u] for u in ps if u != 0)
            if v == sink:
                return kxy, theta[v]
            exx, _ = dual(act, kxx, kxx, kxx, derivative=False, n=n, xp=xp)
            eyy, _ = dual(act, kyy, kyy, kyy, derivative=False, n=n, xp=xp)
            exy, dxy = dual(act, kxx, kxy, kyy, derivative=True, n=n, xp=xp)
            G[v] = (exx, exy, eyy)
            Gdot[v] = dxy
    raise LimitError("DAG has no sink")  # pragma: no cover


def _resnet_matrix(spec, act, cxx, cxy, cyy, xp, n):
    """ResNet covariance C and NTK Theta (CONVENTIONS.md, no readout, no biases):
    C_(l+1) = C_l + (sw^2/L) E[phi(u) phi(v)],
    Theta_(l+1) = Theta_l + (sw^2/L) (E[phi(u) phi(v)] + E[phi'(u) phi'(v)] Theta_l),  C_1 = Theta_1 = sw^2 x.y/d
    (the skip's Jacobian is I + O(N^-1/2) with a mean-zero correction, so cross terms vanish at
    infinite width); ``L = inf`` integrates the same right-hand side over t in [0, 1] with RK4."""
    sw2 = float(spec.sw) ** 2
    state = (sw2 * cxx, sw2 * cxy, sw2 * cyy, sw2 * cxy)

    def rhs(s):
        e_xx, _ = dual(act, s[0], s[0], s[0], derivative=False, n=n, xp=xp)
        e_yy, _ = dual(act, s[2], s[2], s[2], derivative=False, n=n, xp=xp)
        e_xy, d_xy = dual(act, s[0], s[1], s[2], derivative=True, n=n, xp=xp)
        return (sw2 * e_xx, sw2 * e_xy, sw2 * e_yy, sw2 * (e_xy + d_xy * s[3]))

    with np.errstate(all="ignore"):
        if spec.L is not None:
            h = 1.0 / spec.L
            for _ in range(spec.L):
                f = rhs(state)
                state = tuple(s + h * fi for s, fi in zip(state, f))
            return state[1], state[3]
        steps, prev = 16, None
        while True:
            full = _rk4(rhs, state, steps)
            cur = xp.stack([full[1], full[3]])
            if prev is not None:
                err = float(xp.max(xp.abs(cur - prev) / xp.maximum(xp.abs(cur), 1e-300)))
                if not math.isfinite(err):
                    raise LimitError("ResNet ODE limit overflowed (non-finite values): lower sw")
                if err < 1e-12 or steps >= 4096:
                    return full[1], full[3]
            prev, steps = cur, steps * 2


def _rk4(rhs, state, steps):
    h = 1.0 / steps
    for _ in range(steps):
        k1 = rhs(state)
        k2 = rhs(tuple(s + h / 2 * k for s, k in zip(state, k1)))
        k3 = rhs(tuple(s + h / 2 * k for s, k in zip(state, k2)))
        k4 = rhs(tuple(s + h * k for s, k in zip(state, k3)))
        state = tuple(s + h / 6 * (a + 2 * b + 2 * c + d) for s, a, b, c, d in zip(state, k1, k2, k3, k4))
    return state


# --------------------------------------------------------------------------- closed-form fast path
#: entries per tile of the fast path: float64 temporaries stay under glibc's 128 KiB mmap
#: threshold (a tile of exactly 128 KiB is page-faulted afresh for every temporary: 4x slower)
_FAST_TILE = 15_872


def _diag_recursion(parents, spec, act, k0: np.ndarray) -> np.ndarray:
    """``K_v(x, x)`` at every node v >= 1 for every row (float64, the same duals as the matrix
    path): row v of the result; row 0 holds ``|x|^2 / d``."""
    sw2, sb2 = float(spec.sw) ** 2, float(spec.sb) ** 2
    sink = len(parents) - 1
    K = np.empty((sink + 1, len(k0)))
    G = {0: k0}
    K[0] = k0
    with np.errstate(all="ignore"):
        for v in range(1, sink + 1):
            ps = parents[v]
            K[v] = sw2 / len(ps) * sum(G[u] for u in ps) + sb2
            if v < sink:
                G[v], _ = dual(act, K[v], K[v], K[v], derivative=False)
    return K


def _fast_matrices(parents, spec, act, X: np.ndarray, Y: np.ndarray, dtype, chunk: int | None = None):
    """NNGP and NTK matrices for relu/erf MLPs and DAGs on the CPU.

    The diagonal recursion ``K_v(x, x)`` runs once per row of X and of Y (not per tile); per-row
    factors (relu ``sqrt K_v``, erf ``1/sqrt(1 + 2 K_v)``) turn each layer of a tile into a few
    in-place ufunc passes (NumPy's SIMD arccos/arcsin).  ``K(X, X)`` computes the upper block
    triangle and mirrors it; ``K(X, X')`` computes every tile: the same work per entry.
    """
    symmetric = Y is X
    d = X.shape[1]
    kx0 = np.einsum("ij,ij->i", X, X) / d
    DX = _diag_recursion(parents, spec, act, kx0)
    DY = DX if symmetric else _diag_recursion(parents, spec, act, np.einsum("ij,ij->i", Y, Y) / d)
    relu = act.name == "relu"
    with np.errstate(all="ignore"):
        FX = np.sqrt(DX) if relu else 1.0 / np.sqrt(1.0 + 2.0 * DX)
        FY = FX if symmetric else (np.sqrt(DY) if relu else 1.0 / np.sqrt(1.0 + 2.0 * DY))
        IX = np.where(FX > 0, 1.0 / np.where(FX > 0, FX, 1.0), 0.0) if relu else None
        IY = IX if symmetric else (np.where(FY > 0, 1.0 / np.where(FY > 0, FY, 1.0), 0.0) if relu else None)
    M1, M2 = X.shape[0], Y.shape[0]
    nngp = np.empty((M1, M2), dtype=dtype)
    ntk = np.empty((M1, M2), dtype=dtype)
    sw2, sb2 = float(spec.sw) ** 2, float(spec.sb) ** 2
    col_block = min(M2, 1024)
    rows = chunk or max(1, _FAST_TILE // col_block)
    sink = len(parents) - 1

    def work(tile):
        r0, r1, c0, c1 = tile
        g = X[r0:r1] @ Y[c0:c1].T
        g /= d
        diag = None
        if symmetric:
            i = np.arange(max(r0, c0), min(r1, c1))
            diag = (i - r0, i - c0) if len(i) else None
            if diag is not None:
                g[diag] = kx0[i]
        Gxy, Gdot, theta = {0: g}, {}, {}
        with np.errstate(all="ignore"):
            for v in range(1, sink + 1):
                ps = parents[v]
                scale = sw2 / len(ps)
                kxy = Gxy[ps[0]] * scale if len(ps) == 1 else sum(Gxy[u] for u in ps) * scale
                kxy += sb2
                th = kxy.copy()
                for u in ps:
                    if u:
                        th += scale * Gdot[u] * theta[u]
                theta[v] = th
                if v == sink:
                    break
                if relu:
                    c = kxy * IX[v, r0:r1, None]
                    c *= IY[v, None, c0:c1]
                    np.clip(c, -1.0, 1.0, out=c)
                    if diag is not None:
                        c[diag] = 1.0  # x = y: correlation exactly 1 (arccos(1 - eps) = sqrt(2 eps))
                    ang = np.arccos(c)
                    np.subtract(np.pi, ang, out=ang)  # pi - angle
                    e = c * c
                    np.subtract(1.0, e, out=e)
                    np.sqrt(e, out=e)
                    e += ang * c
                    e *= FX[v, r0:r1, None] * (1 / (2 * np.pi))
                    e *= FY[v, None, c0:c1]
                    ang *= 1 / (2 * np.pi)
                    Gxy[v], Gdot[v] = e, ang
                else:
                    r = FX[v, r0:r1, None] * FY[v, None, c0:c1]
                    z = kxy * 2.0
                    z *= r
                    np.clip(z, -1.0, 1.0, out=z)
                    e = np.arcsin(z)
                    e *= 2 / np.pi
                    z *= z
                    np.subtract(1.0, z, out=z)
                    np.sqrt(z, out=z)
                    np.divide(r, z, out=z)
                    z *= 4 / np.pi
                    Gxy[v], Gdot[v] = e, z
        nngp[r0:r1, c0:c1] = kxy
        ntk[r0:r1, c0:c1] = th
        if symmetric and c1 > r1:
            m0 = max(c0, r1)
            nngp[m0:c1, r0:r1] = kxy[:, m0 - c0:].T
            ntk[m0:c1, r0:r1] = th[:, m0 - c0:].T

    tiles = []
    for r0 in range(0, M1, rows):
        r1 = min(r0 + rows, M1)
        for c0 in range(r0 if symmetric else 0, M2, col_block):
            tiles.append((r0, r1, c0, min(c0 + col_block, M2)))
    if len(tiles) > 1 and (os.cpu_count() or 1) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(work, tiles))
    else:
        for tile in tiles:
            work(tile)
    return nngp, ntk
