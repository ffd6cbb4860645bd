"""Infinite-width limits: NNGP and NTK kernels, the ResNet ODE limit, and the Jacobian spectrum.

Every number follows CONVENTIONS.md (MISSION.md F6):

* :func:`kernels` -- whole NNGP/NTK matrices for MLP(L), layer DAGs and ResNet(L) (covariance
  ``C_L``; ``L = inf`` is the ODE limit), vectorised on the array backend and chunked over rows.
* :func:`nngp_exact`, :func:`ntk_exact` -- the same recursion in exact rationals for polynomial
  activations: the independent check of the graph-sum engine.
* :func:`jacobian_moments` -- ``m_1..m_K`` of the limiting spectrum of ``J J^T`` as sums over
  non-crossing partitions (``method="noncrossing"``) or by free multiplicative convolution of
  S-transforms as truncated power series (``method="free"``); :func:`jacobian_density` by
  Stieltjes inversion.

Examples
--------
>>> from fractions import Fraction as F
>>> spec = parse_arch("mlp:L=2,sw=1,sb=0")
>>> nngp_exact(spec, parse_activation("identity"), [1, 0], [F(1, 2), 1])   # linear: x.y/d
Fraction(1, 4)
>>> ntk_exact(spec, "identity", [1, 0], [F(1, 2), 1])                     # (L+1) x.y/d
Fraction(3, 4)
>>> [round(m, 10) for m in jacobian_moments(parse_arch("mlp:L=1"), "identity", 1.0, 3)]
[1.0, 3.0, 12.0]

References
----------
arXiv:2407.08459 (Jacobian moments as non-crossing sums); Pennington, Schoenholz & Ganguli,
arXiv:1711.04735 (S-transform of J J^T); Jacot et al. arXiv:1806.07572 (NTK); seed 002,
arXiv:2310.01683 (ResNet ODE limit).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .gaussian import (
    LimitError,
    derivative_measure,
    dual,
    gaussian_moment_exact,
    poly_dual_exact,
)
from .spec import Activation, DagSpec, MLPSpec, ResNetSpec, parse_activation, parse_arch

__all__ = [
    "LimitError",
    "KernelResult",
    "gaussian_moment_exact",
    "kernels",
    "nngp_limit",
    "ntk_limit",
    "nngp_exact",
    "ntk_exact",
    "resnet_covariance",
    "resnet_depth_convergence",
    "jacobian_q",
    "jacobian_moments",
    "jacobian_density",
    "jacobian_atom",
    "jacobian_edge",
    "fuss_catalan",
    "iter_noncrossing",
    "count_noncrossing",
]

#: matrix entries per tile for closed forms: 16k float64 = 128 KiB temporaries
_CHUNK_ENTRIES = 1 << 14


@dataclass(frozen=True)
class KernelResult:
    """Kernel matrices ``(M1, M2)`` on the host (ResNet: covariance C_L and its NTK)."""

    nngp: np.ndarray
    ntk: np.ndarray | None
    device: str = "cpu"


# =========================================================================== kernels
def kernels(spec, activation, X, Y=None, *, device: str = "cpu", chunk: int | None = None,
            n_quad: int | None = None) -> KernelResult:
    """NNGP and NTK matrices of CONVENTIONS.md for all pairs of rows of ``X`` and ``Y``.

    Parameters
    ----------
    spec : MLPSpec, DagSpec, ResNetSpec or str
    activation : Activation or str
    X : array (M1, d); Y : array (M2, d), default ``X``
    device : "cpu", "gpu" or "auto" (see :func:`graphexp_db.backend.get_xp`)
    chunk : rows of ``X`` per tile (default: tiles of about 8k entries, at most 2048 columns);
        tiles run on a thread pool on the CPU.  With ``Y=None`` only the upper block triangle
        is computed and mirrored.
    n_quad : quadrature nodes per dimension for activations without closed form (default: adaptive,
        see :mod:`graphexp_db.gaussian`)

    Returns
    -------
    KernelResult
        ``nngp`` (output kernel ``K_(L+1)``, or ResNet covariance ``C_L``) and ``ntk``
        (``T_(L+1)``; for ResNets the NTK of the last hidden layer, see ``_resnet_matrix``).

    Raises
    ------
    LimitError
        inputs of different dimension, NaN/inf, or values that overflow.

    Examples
    --------
    >>> import numpy as np
    >>> r = kernels("mlp:L=1,sw=1,sb=0", "relu", np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> np.round(r.nngp, 6).tolist()       # diag 1/4, off-diag (1/(2 pi)) / 2
    [[0.25, 0.079577], [0.079577, 0.25]]
    """
    from .backend import device_name, get_xp, to_numpy

    spec = parse_arch(spec)
    act = parse_activation(activation)
    X = _check_inputs(X, "X")
    Y = X if Y is None else _check_inputs(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise LimitError(f"inputs of different dimension: X has d={X.shape[1]}, Y has d={Y.shape[1]}")
    xp = get_xp(device)
    from .gaussian import QUADRATURE_NODES, CLOSED_FORMS

    n = n_quad or QUADRATURE_NODES
    # tiles of at most _CHUNK_ENTRIES entries (times quadrature nodes): on NumPy, temporaries
    # under glibc's 128 KiB mmap threshold are recycled instead of page-faulted (4x faster)
    # (quadrature tiles are bigger: their work per entry dwarfs the Python overhead per tile)
    per_entry, budget = (1, _CHUNK_ENTRIES) if act.name in CLOSED_FORMS else ((n or 128) ** 2, 1 << 21)
    col_block = max(1, min(Y.shape[0], 2048, budget // per_entry))
    if chunk is None:
        chunk = max(1, budget // (per_entry * col_block))
    if chunk < 1:
        raise LimitError(f"chunk must be >= 1, got {chunk}")
    want_ntk = True
    symmetric = Y is X
    nngp = np.empty((X.shape[0], Y.shape[0]))
    ntk = np.empty_like(nngp) if want_ntk else None
    Yd = xp.asarray(Y)
    d = X.shape[1]
    kyy_all = xp.sum(Yd * Yd, axis=1) / d
    parents = None if isinstance(spec, ResNetSpec) else _parents_of(spec)

    def work(tile: tuple[int, int, int, int]) -> None:
        r0, r1, c0, c1 = tile
        Xd = xp.asarray(X[r0:r1])
        Yc = Yd[c0:c1]
        g0 = (Xd @ Yc.T) / d
        kxx0 = xp.sum(Xd * Xd, axis=1) / d
        kyy0 = kyy_all[c0:c1]
        if symmetric:
            # x.x from the matmul may differ from |x|^2 in the last bit; on the diagonal the
            # correlation must be exactly 1 (relu's arccos turns 1 - eps into an angle sqrt(2 eps))
            i = np.arange(max(r0, c0), min(r1, c1))
            if len(i):
                g0[i - r0, i - c0] = kxx0[i - r0]
        if parents is None:
            blocks = _resnet_matrix(spec, act, kxx0[:, None], g0, kyy0[None, :], xp, n)
        else:
            blocks = _dag_matrix(parents, spec, act, kxx0[:, None], g0, kyy0[None, :], xp, n, want_ntk)
        for out, blk in zip((nngp, ntk), blocks):
            blk = to_numpy(blk)
            out[r0:r1, c0:c1] = blk
            if symmetric and c1 > r1:
                # mirror only the part strictly right of this row block: every entry has one writer
                m0 = max(c0, r1)
                out[m0:c1, r0:r1] = blk[:, m0 - c0:].T

    tiles = []
    M1, M2 = X.shape[0], Y.shape[0]
    for r0 in range(0, M1, chunk):
        r1 = min(r0 + chunk, M1)
        # symmetric case: only the columns >= r0 (upper block triangle), mirrored below
        first = r0 if symmetric else 0
        for c0 in range(first, M2, col_block):
            tiles.append((r0, r1, c0, min(c0 + col_block, M2)))
    if xp is np and len(tiles) > 1:
        # NumPy ufuncs release the GIL: tiles run in parallel on the CPU cores
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(work, tiles))
    else:
        for tile in tiles:
            work(tile)
    _check_finite(nngp, "NNGP kernel")
    if ntk is not None:
        _check_finite(ntk, "NTK")
    return KernelResult(nngp=nngp, ntk=ntk, device=device_name(xp))


def nngp_limit(spec, activation, x, y) -> float:
    """NNGP output kernel ``K_(L+1)(x, y)`` (ResNet: covariance ``C_L``), as a float.

    >>> round(nngp_limit("mlp:L=1,sw=1,sb=0", "erf", [1.0], [1.0]), 12)   # (2/pi) arcsin(2/3)
    0.464559054398
    """
    return float(kernels(spec, activation, _row(x), _row(y)).nngp[0, 0])


def ntk_limit(spec, activation, x, y) -> float:
    """NTK ``T_(L+1)(x, y)`` as a float (MLP, DAG, and ResNet: finite L or the ODE limit).

    >>> round(ntk_limit("mlp:L=1,sw=1,sb=0", "relu", [1.0], [1.0]), 12)   # 1/2 + 1/2 * 1
    1.0
    """
    spec = parse_arch(spec)
    return float(kernels(spec, activation, _row(x), _row(y)).ntk[0, 0])


def resnet_covariance(spec, activation, x, y, L: int | None = None) -> float:
    """ResNet covariance ``C_L(x, y)``: finite-``L`` recursion, or the ODE limit when ``L`` is None.

    ``L`` defaults to ``spec.L``; ``spec.L is None`` (``resnet:L=inf``) means the ODE limit,
    integrated by RK4 with step doubling until two step sizes agree to ``1e-12`` (relative).
    The finite-``L`` recursion is the Euler scheme of the ODE, so ``|C_L - C_inf| = O(1/L)``.

    >>> import math
    >>> s = parse_arch("resnet:L=inf,sw=1")
    >>> abs(resnet_covariance(s, "relu", [1.0], [1.0]) - math.exp(0.5)) < 1e-12   # dC/dt = C/2
    True
    >>> resnet_covariance(s, "relu", [1.0], [1.0], L=1)   # C_1 = 1 + 1/2
    1.5
    """
    spec = parse_arch(spec)
    if not isinstance(spec, ResNetSpec):
        raise LimitError(f"resnet_covariance needs a resnet spec, got {spec.kind}")
    if L is None:
        L = spec.L
    elif L < 1:
        raise LimitError(f"depth L must be >= 1, got {L}")
    return nngp_limit(ResNetSpec(L=L, sw=spec.sw), activation, x, y)


def resnet_depth_convergence(spec, activation, x, y, depths=(2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)) -> dict:
    """Convergence of the finite-depth ResNet kernels to the ODE limit (``resnet:L=inf``).

    Returns ``{"limit": {"nngp", "ntk"}, "depths", "error": {"nngp": [...], "ntk": [...]},
    "slope": {"nngp", "ntk"}}`` with the log-log slope of |K_L - K_inf| against L (about -1: the
    recursion is the explicit Euler scheme of the ODE).

    >>> r = resnet_depth_convergence("resnet:L=inf,sw=1", "relu", [1.0, 0.0], [0.6, 0.8], depths=(8, 64, 512))
    >>> round(r["slope"]["nngp"], 1), round(r["slope"]["ntk"], 1)
    (-1.0, -1.0)
    """
    spec = parse_arch(spec)
    if not isinstance(spec, ResNetSpec):
        raise LimitError(f"depth convergence needs a resnet spec, got {spec.kind}")
    depths = [int(L) for L in depths]
    if len(depths) < 2 or min(depths) < 1:
        raise LimitError("give at least two depths >= 1")
    inf = ResNetSpec(L=None, sw=spec.sw)
    limit = {"nngp": nngp_limit(inf, activation, x, y), "ntk": ntk_limit(inf, activation, x, y)}
    err = {q: [] for q in limit}
    for L in depths:
        fin = ResNetSpec(L=L, sw=spec.sw)
        err["nngp"].append(abs(nngp_limit(fin, activation, x, y) - limit["nngp"]))
        err["ntk"].append(abs(ntk_limit(fin, activation, x, y) - limit["ntk"]))
    slope = {}
    for q, e in err.items():
        e = np.asarray(e)
        ok = e > 0
        slope[q] = float(np.polyfit(np.log(np.asarray(depths)[ok]), np.log(e[ok]), 1)[0]) if ok.sum() >= 2 else float("nan")
    return {"limit": limit, "depths": depths, "error": err, "slope": slope}


# --------------------------------------------------------------------------- kernel internals
def _check_inputs(X, name: str) -> np.ndarray:
    try:
        A = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise LimitError(f"{name} must be numeric") from None
    if A.ndim == 1:
        A = A[None, :]
    if A.ndim != 2 or A.shape[1] == 0 or A.shape[0] == 0:
        raise LimitError(f"{name} must be a non-empty (M, d) array, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise LimitError(f"{name} contains NaN or inf")
    return A


def _row(x) -> np.ndarray:
    return _check_inputs(np.asarray([float(v) for v in x], dtype=float), "input")


def _check_finite(a: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(a)):
        raise LimitError(f"{what} overflowed (non-finite values): the parameters are unstable; lower sw or the depth")


def _parents_of(spec) -> tuple[tuple[int, ...], ...]:
    """Parents of nodes 0..sink; an MLP(L) is the chain 0 -> 1 -> ... -> L+1."""
    if isinstance(spec, MLPSpec):
        return ((),) + tuple((v - 1,) for v in range(1, spec.L + 2))
    order = spec.order
    n = spec.n_nodes
    parents = [()] * n
    for v in order:
        parents[v] = spec.parents(v)
    # renumber so that the topological order is 0..n-1 (the recursion walks it in order)
    pos = {v: i for i, v in enumerate(order)}
    out = [()] * n
    for v in order:
        out[pos[v]] = tuple(sorted(pos[u] for u in parents[v]))
    return tuple(out)


def _dag_matrix(parents, spec, act, kxx0, g0, kyy0, xp, n, want_ntk):
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
            if want_ntk:
                t = kxy + scale * sum(Gdot[u] * theta[u] for u in ps if u != 0)
                theta[v] = t
            if v == sink:
                return kxy, (theta[v] if want_ntk else None)
            exx, _ = dual(act, kxx, kxx, kxx, derivative=False, n=n, xp=xp)
            eyy, _ = dual(act, kyy, kyy, kyy, derivative=False, n=n, xp=xp)
            exy, dxy = dual(act, kxx, kxy, kyy, derivative=want_ntk, n=n, xp=xp)
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


# =========================================================================== exact kernels
def nngp_exact(spec, activation, x, y) -> Fraction:
    """Exact NNGP output kernel for a polynomial activation (MLP or DAG), as a Fraction.

    Parameters
    ----------
    spec : MLPSpec or DagSpec (or its text)
    activation : a polynomial activation (``identity`` or ``poly:...``)
    x, y : sequences of Fractions or numbers (converted exactly via ``Fraction(str(v))``)

    Examples
    --------
    >>> nngp_exact("mlp:L=1,sw=1,sb=0", "poly:0,1,1", [1], [1])   # E[(u+u^2)^2] = 1 + 3
    Fraction(4, 1)
    """
    return _exact_recursion(spec, activation, x, y)[0]


def ntk_exact(spec, activation, x, y) -> Fraction:
    """Exact NTK ``T_(L+1)(x, y)`` for a polynomial activation (MLP or DAG).

    >>> ntk_exact("mlp:L=1,sw=1,sb=0", "poly:0,1,1", [1], [1])    # 4 + E[(1+2u)^2] * 1
    Fraction(9, 1)
    """
    return _exact_recursion(spec, activation, x, y)[1]


def _exact_recursion(spec, activation, x, y):
    from .gaussian import _exact, _poly_deriv

    spec = parse_arch(spec)
    act = parse_activation(activation)
    if isinstance(spec, ResNetSpec):
        raise LimitError("exact kernels are for MLP and DAG specs")
    if not act.is_polynomial:
        raise LimitError(f"exact kernels need a polynomial activation (identity or poly:...), got {act}")
    x = [_exact(v) for v in x]
    y = [_exact(v) for v in y]
    if len(x) != len(y) or not x:
        raise LimitError(f"inputs of different dimension: len(x)={len(x)}, len(y)={len(y)}")
    d = len(x)
    c = act.poly_coeffs
    dc = _poly_deriv(c)
    sw2, sb2 = spec.sw**2, spec.sb**2
    parents = _parents_of(spec)
    G = {0: (sum(a * a for a in x) / d, sum(a * b for a, b in zip(x, y)) / d, sum(b * b for b in y) / d)}
    Gdot, theta = {}, {}
    sink = len(parents) - 1
    for v in range(1, sink + 1):
        ps = parents[v]
        scale = sw2 / len(ps)
        kxx, kxy, kyy = (scale * sum(G[u][i] for u in ps) + sb2 for i in range(3))
        theta[v] = kxy + scale * sum(Gdot[u] * theta[u] for u in ps if u != 0)
        if v == sink:
            return kxy, theta[v]
        G[v] = (poly_dual_exact(c, c, kxx, kxx, kxx), poly_dual_exact(c, c, kxx, kxy, kyy),
                poly_dual_exact(c, c, kyy, kyy, kyy))
        Gdot[v] = poly_dual_exact(dc, dc, kxx, kxy, kyy)
    raise LimitError("DAG has no sink")  # pragma: no cover


# =========================================================================== Jacobian spectrum
def jacobian_q(spec, activation, q_in: float) -> list[float]:
    """Preactivation variances ``q_1..q_L`` of CONVENTIONS.md (square MLP, ``q_in = |x|^2/N``).

    >>> jacobian_q("mlp:L=3,sw=2,sb=0", "relu", 1.0)   # q_(l+1) = sw^2 q_l / 2
    [4.0, 8.0, 16.0]
    """
    spec, act = _jac_args(spec, activation, q_in)
    sw2, sb2 = float(spec.sw) ** 2, float(spec.sb) ** 2
    q = [sw2 * q_in + sb2]
    for _ in range(spec.L - 1):
        e, _ = dual(act, np.array(q[-1]), np.array(q[-1]), np.array(q[-1]), derivative=False)
        q.append(sw2 * float(e) + sb2)
    if not all(math.isfinite(v) for v in q):
        raise LimitError("preactivation variances overflowed (non-finite values): lower sw or the depth")
    return q


def jacobian_moments(spec, activation, q_in: float, kmax: int, method: str = "free") -> list[float]:
    """Moments ``m_1..m_K`` of the limiting spectral law of ``J J^T`` (CONVENTIONS.md).

    Both methods use the same laws of ``D_l^2`` (moments ``mu_j^(l) = E[phi'(z)^(2j)]``,
    ``z ~ N(0, q_l)``; see :func:`graphexp_db.gaussian.derivative_measure`):

    ``"noncrossing"``
        the paper's form: with ``P_0 = 1`` and free Poisson (Wishart) factors ``w_l``,
        ``m_k(Q_l) = sum_{pi in NC(k)} sw^(2k) m_pi(P_(l-1)) mu_(K(pi))^(l)`` (``K`` the Kreweras
        complement; free cumulants of ``w^(1/2) P w^(1/2)`` are the moments of ``P``) and
        ``m_k(P_l) = sw^(2k) sum_{sigma in NC(k)} m_sigma(Q_l)``.  It enumerates ``NC(k)``
        (Catalan(k) partitions, grouped by block types), so it is meant for ``K <= 12``.
    ``"free"``
        ``S(z) = (1/(sw^2 (1+z)))^(L+1) prod_l S_(D_l^2)(z)`` with all S-transforms as power series
        truncated at order ``K`` (Lagrange inversion); cost ``O(L K^3)``: any ``K`` and depth.

    Parameters
    ----------
    spec : MLPSpec (square network: d = N = n_out)
    activation : Activation or str
    q_in : float, ``|x|^2 / N >= 0``
    kmax : int >= 1
    method : "free" (default) or "noncrossing"

    Raises
    ------
    LimitError
        for K < 1, negative or non-finite q_in, a non-MLP spec, an unknown method, or a moment
        outside the float range (overflow or underflow): reported, never returned as inf or 0.

    Examples
    --------
    >>> [round(m, 4) for m in jacobian_moments("mlp:L=2,sw=1.5", "identity", 1.0, 3)]   # 1.5^(2k*3) FC_3(k)
    [11.3906, 518.9854, 32513.6214]
    >>> jacobian_moments("mlp:L=2", "identity", 1.0, 0)
    Traceback (most recent call last):
    ...
    graphexp_db.gaussian.LimitError: kmax must be >= 1, got 0
    """
    spec, act = _jac_args(spec, activation, q_in)
    if not isinstance(kmax, (int, np.integer)) or isinstance(kmax, bool) or kmax < 1:
        raise LimitError(f"kmax must be >= 1, got {kmax}")
    kmax = int(kmax)
    if method not in ("free", "noncrossing"):
        raise LimitError(f"unknown method {method!r} (expected 'free' or 'noncrossing')")
    mus = [_measure_moments(*derivative_measure(act, q, kmax=kmax), kmax) for q in jacobian_q(spec, act, q_in)]
    sw2 = float(spec.sw) ** 2
    if sw2 == 0 or any(mu[0] == 0 for mu in mus):
        return [0.0] * kmax                           # J = 0 in the limit
    # scale out m_1 (every factor normalised to mean 1) so that intermediates stay O(1):
    # m_k = m_1^k * mt_k, with m_1 = sw^(2(L+1)) prod_l mu_1^(l), combined in log space
    log_m1 = (len(mus) + 1) * math.log(sw2) + sum(math.log(mu[0]) for mu in mus)
    normed = [mu / mu[0] ** np.arange(1, kmax + 1) for mu in mus]
    with np.errstate(all="ignore"):
        if method == "free":
            mt = _moments_free(1.0, normed, kmax)
        else:
            mt = _moments_noncrossing(1.0, normed, kmax)
    out = []
    for k, v in enumerate(mt, 1):
        if not (math.isfinite(v) and v > 0):
            raise LimitError(f"Jacobian moment m_{k} is not finite and positive ({v}): the series is unstable; lower kmax")
        log_mk = k * log_m1 + math.log(v)
        if log_mk > 709.0:
            raise LimitError(f"Jacobian moment m_{k} overflows (about 1e{log_mk / math.log(10):.0f}): lower sw, the depth or kmax")
        if log_mk < -708.0:
            raise LimitError(f"Jacobian moment m_{k} underflows (about 1e{log_mk / math.log(10):.0f}): raise sw or lower the depth or kmax")
        out.append(math.exp(log_mk))
    return out


def jacobian_atom(spec, activation, q_in: float) -> float:
    """Mass of the atom at 0 of the limiting law of ``J J^T`` (``1/2`` for relu, else 0).

    The rank of ``J`` is that of the sparsest ``D_l``: the atom is ``1 - min_l P(phi'(h_l) != 0)``.

    >>> jacobian_atom("mlp:L=3", "relu", 1.0), jacobian_atom("mlp:L=3", "tanh", 1.0)
    (0.5, 0.0)
    """
    spec, act = _jac_args(spec, activation, q_in)
    ranks = []
    for q in jacobian_q(spec, act, q_in):
        t, w = derivative_measure(act, q)
        ranks.append(float(np.sum(w[t > 0])) if act.name == "relu" else (1.0 if np.any(t > 0) else 0.0))
    return float(1.0 - min(ranks)) if ranks else 0.0


def jacobian_density(spec, activation, q_in: float, grid=None, *, eta: float = 1e-8):
    """Density of the absolutely continuous part of the limiting law of ``J J^T``.

    Stieltjes inversion: for ``zeta = lambda (1 + i eta)`` solve ``z = psi(1/zeta)`` from the
    S-transform equation ``zeta prod_l chi_l(z) = sw^(2(L+1)) z^(L-1) (1+z)^2`` with
    ``psi_(D_l^2)(chi_l) = z`` (Newton, continued in ``Im zeta`` from far above the real axis
    down to ``eta lambda``, all grid points at once); the density is ``-Im z / (pi lambda)``.  An atom at 0
    (relu: mass :func:`jacobian_atom`) is not part of ``density``.

    Parameters
    ----------
    grid : array of lambda > 0; default 400 points on ``(0, 1.2 lambda_max]`` clustered at 0
        (``lambda = 1.2 lambda_max s^(L+2)``, ``s`` uniform), where the density of a product of
        L+1 Wisharts blows up like ``lambda^(-(L+1)/(L+2))``: on this grid the trapezoid rule sees a
        bounded integrand in ``s``.  The mass below ``grid[0]`` is about ``(L+2) rho_1 lambda_1``.

    Returns
    -------
    (grid, density) : numpy arrays

    Examples
    --------
    >>> import numpy as np
    >>> g, rho = jacobian_density("mlp:L=1", "identity", 1.0, grid=np.array([1.0, 4.0]))
    >>> exact = [max(-r.imag for r in np.roots([1, 3, 3 - l, 1])) / (np.pi * l) for l in g]
    >>> np.allclose(rho, exact, rtol=1e-9)   # two Wisharts: lambda = (1+z)^3 / z
    True
    """
    spec, act = _jac_args(spec, activation, q_in)
    L = spec.L
    sw2 = float(spec.sw) ** 2
    measures = [derivative_measure(act, q) for q in jacobian_q(spec, act, q_in)]
    m = jacobian_moments(spec, act, q_in, 40)
    if m[0] == 0:
        raise LimitError("J J^T is zero in the limit (phi' vanishes): no density")
    edge = _edge_from_moments(m)
    if grid is None:
        s = np.linspace(0, 1, 401)[1:]
        grid = 1.2 * edge * s ** (L + 2)
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise LimitError("density grid must be a 1-D array of finite positive numbers")
    with np.errstate(all="ignore"):
        z = _solve_stieltjes(grid, sw2, L, measures, m, edge, eta)
        rho = np.maximum(-z.imag / (math.pi * grid), 0.0)
    if not np.all(np.isfinite(rho)):
        raise LimitError("spectral density did not converge (non-finite values)")
    return grid, rho


def jacobian_edge(spec, activation, q_in: float) -> float:
    """Upper bound for the right edge of the support of the limiting law of ``J J^T``.

    From ``m_40 / m_39`` (which tends to the edge like ``1 - 3/(2k)``), corrected and padded by 5%.

    >>> 6.75 < jacobian_edge("mlp:L=1", "identity", 1.0) < 7.5   # exact edge 27/4
    True
    """
    return _edge_from_moments(jacobian_moments(spec, activation, q_in, 40))


# --------------------------------------------------------------------------- Jacobian internals
def _edge_from_moments(m) -> float:
    return (m[-1] / m[-2]) * (1 + 1.5 / (len(m) - 1)) * 1.05


def _jac_args(spec, activation, q_in):
    spec = parse_arch(spec)
    act = parse_activation(activation)
    if not isinstance(spec, MLPSpec):
        raise LimitError(f"the Jacobian spectrum is defined for square MLPs (CONVENTIONS.md), got {spec.kind}")
    try:
        q = float(q_in)
    except (TypeError, ValueError):
        raise LimitError(f"q_in must be a number, got {q_in!r}") from None
    if not math.isfinite(q) or q < 0:
        raise LimitError(f"q_in must be finite and >= 0, got {q_in}")
    return spec, act


def _measure_moments(t: np.ndarray, w: np.ndarray, kmax: int) -> np.ndarray:
    return np.array([float(np.sum(w * t**j)) for j in range(1, kmax + 1)])


def _series_mul(a: np.ndarray, b: np.ndarray, K: int) -> np.ndarray:
    return np.convolve(a, b)[:K]


def _series_inverse_compositional(f: np.ndarray) -> np.ndarray:
    """g with f(g(z)) = z, both as coefficient arrays ``[0, c1, c2, ...]`` (Lagrange inversion)."""
    K = len(f) - 1
    # h(w) = w / f(w) = 1 / (c1 + c2 w + ...): power-series reciprocal
    a = f[1:]
    h = np.zeros(K)
    h[0] = 1.0 / a[0]
    for n in range(1, K):
        h[n] = -np.dot(a[1:n + 1], h[n - 1::-1][:n]) / a[0]
    g = np.zeros(K + 1)
    power = np.ones(1)
    for n in range(1, K + 1):
        power = _series_mul(power, h, K)             # h^n truncated
        g[n] = power[n - 1] / n if n - 1 < len(power) else 0.0
    return g


def _moments_free(sw2: float, mus: list[np.ndarray], K: int) -> np.ndarray:
    # S-transform of the scaled free Poisson factor: 1/(sw^2 (1+z)) = (1/sw^2) sum (-z)^n
    if any(mu[0] == 0 for mu in mus):
        return np.zeros(K)
    geo = np.array([(-1.0) ** n for n in range(K)])
    S = np.zeros(K)
    S[0] = 1.0
    for _ in range(len(mus) + 1):
        S = _series_mul(S, geo / sw2, K)
    one_plus = np.zeros(K)
    one_plus[0] = 1.0
    if K > 1:
        one_plus[1] = 1.0
    for mu in mus:
        chi = _series_inverse_compositional(np.concatenate([[0.0], mu]))   # chi(z) = sum chi_n z^n
        S_d = _series_mul(chi[1:], one_plus, K)                            # (chi/z)(1+z)
        S = _series_mul(S, S_d, K)
    chi_total = np.concatenate([[0.0], _series_mul(S, geo, K)])            # z S/(1+z)
    return _series_inverse_compositional(chi_total)[1:]


def _moments_noncrossing(sw2: float, mus: list[np.ndarray], K: int) -> np.ndarray:
    # moments as functions of k = 1..K; index 0 holds m_0 = 1
    def nc_moment_sum(cum: np.ndarray, k: int) -> float:
        return sum(c * math.prod(cum[b] for b in lam) for lam, c in _nc_types(k).items())

    def wishart(prev: np.ndarray) -> np.ndarray:
        return np.array([1.0] + [sw2**k * nc_moment_sum(prev, k) for k in range(1, K + 1)])

    Q = np.ones(K + 1)                                # Q_0 = 1
    for mu in mus:
        d = np.concatenate([[1.0], mu])
        # free cumulants of w_l^(1/2) Q_(l-1) w_l^(1/2) are sw^(2n) m_n(Q_(l-1))
        Q = np.array([1.0] + [
            sum(c * math.prod(sw2 ** b * Q[b] for b in lam) * math.prod(d[b] for b in mu_type)
                for (lam, mu_type), c in _nc_kreweras_types(k).items())
            for k in range(1, K + 1)
        ])
    P = wishart(Q)                                    # P_L = w_(L+1) Q_L
    return P[1:]


def iter_noncrossing(k: int):
    """Non-crossing partitions of ``{0..k-1}`` as tuples of blocks (tuples, increasing).

    >>> len(list(iter_noncrossing(4))) == count_noncrossing(4) == 14
    True
    """
    if k == 0:
        yield ()
        return
    # the block of 0 is {0} + S; the gaps between consecutive elements are filled independently
    for rest in _subsets(range(1, k)):
        block = (0,) + rest
        bounds = list(block) + [k]
        gaps = [tuple(range(bounds[i] + 1, bounds[i + 1])) for i in range(len(block))]
        for parts in _product_nc(gaps):
            yield tuple(sorted((block,) + parts))


def count_noncrossing(k: int) -> int:
    """Catalan(k) = binom(2k, k) / (k + 1), the number of non-crossing partitions of k points.

    >>> [count_noncrossing(k) for k in range(6)]
    [1, 1, 2, 5, 14, 42]
    """
    return math.comb(2 * k, k) // (k + 1)


def fuss_catalan(p: int, k: int) -> int:
    """FussCatalan_p(k) = binom((p+1)k, k) / (p k + 1).

    >>> [fuss_catalan(2, k) for k in range(1, 5)]
    [1, 3, 12, 55]
    """
    return math.comb((p + 1) * k, k) // (p * k + 1)


def _subsets(items):
    items = tuple(items)
    for mask in range(1 << len(items)):
        yield tuple(items[i] for i in range(len(items)) if mask >> i & 1)


def _product_nc(gaps):
    if not gaps:
        yield ()
        return
    head, tail = gaps[0], gaps[1:]
    for p in _nc_on(head):
        for q in _product_nc(tail):
            yield p + q


def _nc_on(elements: tuple):
    for part in iter_noncrossing(len(elements)):
        yield tuple(tuple(elements[i] for i in b) for b in part)


def _kreweras(part: tuple, k: int) -> list[int]:
    """Block sizes of the Kreweras complement (the cycles of ``gamma^-1 pi`` on k points)."""
    # pi as a permutation: each block cycled increasingly; gamma = (0 1 ... k-1)
    perm = [0] * k
    for b in part:
        for i, v in enumerate(b):
            perm[v] = b[(i + 1) % len(b)]
    sigma = [(perm[i] - 1) % k for i in range(k)]    # gamma^-1 o pi
    seen = [False] * k
    sizes = []
    for i in range(k):
        if not seen[i]:
            n, j = 0, i
            while not seen[j]:
                seen[j] = True
                j = sigma[j]
                n += 1
            sizes.append(n)
    return sizes


@lru_cache(maxsize=None)
def _nc_kreweras_types(k: int) -> dict:
    """{(type of pi, type of K(pi)): count} over NC(k); types are sorted block-size tuples."""
    out: dict = {}
    for part in iter_noncrossing(k):
        key = (tuple(sorted(len(b) for b in part)), tuple(sorted(_kreweras(part, k))))
        out[key] = out.get(key, 0) + 1
    return out


@lru_cache(maxsize=None)
def _nc_types(k: int) -> dict:
    out: dict = {}
    for (lam, _), c in _nc_kreweras_types(k).items():
        out[lam] = out.get(lam, 0) + c
    return out


def _solve_stieltjes(grid, sw2, L, measures, m, edge, eta_final):
    """z(zeta) = psi(1/zeta) on zeta = grid + i eta, continued from eta = 4 edge down to eta_final.

    Per layer the unknown is ``y_l = 1/chi_l`` with ``sum_i w_i t_i / (y_l - t_i) = z``: this stays
    well conditioned where ``chi_l`` blows up (relu, ``z -> -1/2`` as ``lambda -> 0``).  With
    ``u_l = z y_l`` the outer equation is ``zeta = sw^(2(L+1)) (1+z)^2 prod_l u_l / z``.
    """
    ts = [t for t, _ in measures]
    ws = [w for _, w in measures]
    K = len(m)

    def g_and_dg(y, t, w):
        den = y[:, None] - t[None, :]
        return (w * t / den).sum(1), -(w * t / den**2).sum(1)

    eta = 4.0 * edge
    zeta = grid + 1j * eta
    inv = 1 / zeta
    z = sum(m[k] * inv ** (k + 1) for k in range(K))
    ys = [float(np.sum(w * t)) / z for t, w in measures]
    # the Newton unknown is w = 1 + z: near lambda = 0, z -> -1 and 1 + z would lose all digits
    w1 = 1 + z
    scale = sw2 ** (L + 1)
    floor = eta_final * grid      # broadening relative to lambda (the density blows up at 0)
    while True:
        zeta = grid + 1j * np.maximum(eta, floor)
        for _ in range(80):
            z = w1 - 1
            dlog = 2 / w1 - 1 / z
            prod_u = np.ones_like(z)
            for i in range(len(ys)):
                for _ in range(30):
                    val, der = g_and_dg(ys[i], ts[i], ws[i])
                    step = (val - z) / der
                    ys[i] = ys[i] - step
                    if np.max(np.abs(step) / np.maximum(np.abs(ys[i]), 1e-300)) < 1e-14:
                        break
                dy = 1 / g_and_dg(ys[i], ts[i], ws[i])[1]
                prod_u = prod_u * z * ys[i]
                dlog = dlog + 1 / z + dy / ys[i]
            rhs = scale * w1**2 * prod_u / z
            step = (zeta - rhs) / (-rhs * dlog)
            # damped Newton: never let w jump far (keeps the branch with Im z < 0)
            big = np.abs(step) > 0.5 * np.abs(w1) + 1e-300
            step = np.where(big, step * 0.5 * np.abs(w1) / np.abs(step), step)
            w1 = w1 - step
            if np.max(np.abs(step) / np.maximum(np.abs(w1), 1e-300)) < 1e-13:
                break
        if eta <= floor.min():
            return w1 - 1   # Im z = Im w exactly
        eta = eta / 3

