"""Infinite-width kernels: NNGP and NTK matrices, the ResNet ODE limit, exact rational kernels.

Every number follows CONVENTIONS.md (MISSION.md F6):

* :func:`kernels` -- whole NNGP/NTK matrices for MLP(L), layer DAGs and ResNet(L) (covariance
  ``C_L``; ``L = inf`` is the ODE limit), vectorised on the array backend and chunked over rows.
  relu and erf MLPs/DAGs on the CPU run one diagonal recursion per input row, then a few
  in-place SIMD ufunc passes per layer and tile, for ``K(X, X)`` and ``K(X, X')`` alike (float64
  arithmetic, float64 or float32 results).
* :func:`nngp_exact`, :func:`ntk_exact` -- the same recursion in exact rationals for polynomial
  activations: the independent check of the graph-sum engine.

Examples
--------
>>> from fractions import Fraction as F
>>> spec = parse_arch("mlp:L=2,sw=1,sb=0")
>>> nngp_exact(spec, parse_activation("identity"), [1, 0], [F(1, 2), 1])   # linear: x.y/d
Fraction(1, 4)
>>> ntk_exact(spec, "identity", [1, 0], [F(1, 2), 1])                     # (L+1) x.y/d
Fraction(3, 4)

References
----------
Jacot et al. arXiv:1806.07572 (NTK); Cho & Saul 2009 (arc-cosine kernel); Williams 1997 (arcsine
kernel); seed 002, arXiv:2310.01683 (ResNet ODE limit).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .gaussian import LimitError, dual, poly_dual_exact
from .spec import MLPSpec, ResNetSpec, parse_activation, parse_arch

__all__ = [
    "KernelResult",
    "kernels",
    "nngp_limit",
    "ntk_limit",
    "nngp_exact",
    "ntk_exact",
    "resnet_covariance",
    "resnet_depth_convergence",
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
            n_quad: int | None = None, dtype="float64") -> KernelResult:
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
    dtype : "float64" (default) or "float32"
        Precision of the returned matrices.  Entries are always computed in float64 and rounded
        once on store: near-collinear inputs make the closed forms ill-conditioned (relu's
        derivative dual and erf's ``1 / sqrt(1 - z^2)``), so float32 arithmetic would miss the
        1e-5 relative accuracy; float32 halves the memory of the result.

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
    >>> r32 = kernels("mlp:L=1,sw=1,sb=0", "relu", np.array([[1.0, 0.0], [0.0, 1.0]]), dtype="float32")
    >>> r32.nngp.dtype.name, bool(np.allclose(r32.nngp, r.nngp, rtol=1e-6))
    ('float32', True)
    """
    from .backend import device_name, get_xp, to_numpy

    spec = parse_arch(spec)
    act = parse_activation(activation)
    X = _check_inputs(X, "X")
    Y = X if Y is None else _check_inputs(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise LimitError(f"inputs of different dimension: X has d={X.shape[1]}, Y has d={Y.shape[1]}")
    xp = get_xp(device)
    if str(dtype) not in ("float32", "float64"):
        raise LimitError(f"dtype must be float32 or float64, got {dtype!r}")
    dtype = np.dtype(str(dtype))
    if chunk is not None and chunk < 1:
        raise LimitError(f"chunk must be >= 1, got {chunk}")
    if xp is np and act.name in _FAST_ACTS and not isinstance(spec, ResNetSpec):
        nngp, ntk = _fast_matrices(_parents_of(spec), spec, act, X, Y, dtype, chunk)
        _check_finite(nngp, "NNGP kernel")
        _check_finite(ntk, "NTK")
        return KernelResult(nngp=nngp, ntk=ntk, device=device_name(xp))
    from .gaussian import CLOSED_FORMS, QUADRATURE_NODES

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
    symmetric = Y is X
    nngp = np.empty((X.shape[0], Y.shape[0]))
    ntk = np.empty_like(nngp)
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
            blocks = _dag_matrix(parents, spec, act, kxx0[:, None], g0, kyy0[None, :], xp, n)
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
    _check_finite(ntk, "NTK")
    if dtype != np.float64:
        nngp, ntk = nngp.astype(dtype), ntk.astype(dtype)
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


# --------------------------------------------------------------------------- closed-form fast path
_FAST_ACTS = ("relu", "erf")
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
