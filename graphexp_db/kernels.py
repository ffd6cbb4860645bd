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

import os
from dataclasses import dataclass

import numpy as np

from .gaussian import LimitError
from .kernel_recursions import _dag_matrix, _fast_matrices, _parents_of, _resnet_matrix
from .kernels_exact import nngp_exact, ntk_exact
from .spec import ResNetSpec, parse_activation, parse_arch

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
#: activations of the closed-form fast path (MLPs and DAGs on the CPU)
_FAST_ACTS = ("relu", "erf")


@dataclass(frozen=True)
class KernelResult:
    """Kernel matrices ``(M1, M2)`` on the host (ResNet: covariance C_L and its NTK)."""

    nngp: np.ndarray
    ntk: np.ndarray
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
    _check_chunk(chunk)
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
    _check_chunk(chunk)
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

    _run_tiles(work, _tile_grid(X.shape[0], Y.shape[0], chunk, col_block, symmetric), parallel=xp is np)
    _check_finite(nngp, "NNGP kernel")
    _check_finite(ntk, "NTK")
    if dtype != np.float64:
        nngp, ntk = nngp.astype(dtype), ntk.astype(dtype)
    return KernelResult(nngp=nngp, ntk=ntk, device=device_name(xp))


def _check_chunk(chunk: int | None) -> None:
    if chunk is not None and chunk < 1:
        raise LimitError(f"chunk must be >= 1, got {chunk}")


def _tile_grid(M1: int, M2: int, chunk: int, col_block: int, symmetric: bool) -> list[tuple[int, int, int, int]]:
    """Tiles ``(r0, r1, c0, c1)`` covering the matrix; symmetric: the upper block triangle only.

    >>> _tile_grid(3, 3, 2, 2, True)
    [(0, 2, 0, 2), (0, 2, 2, 3), (2, 3, 2, 3)]
    """
    tiles = []
    for r0 in range(0, M1, chunk):
        r1 = min(r0 + chunk, M1)
        # symmetric case: only the columns >= r0 (upper block triangle), mirrored below
        first = r0 if symmetric else 0
        for c0 in range(first, M2, col_block):
            tiles.append((r0, r1, c0, min(c0 + col_block, M2)))
    return tiles


def _run_tiles(work, tiles: list[tuple[int, int, int, int]], parallel: bool) -> None:
    if parallel and len(tiles) > 1:
        # NumPy ufuncs release the GIL: tiles run in parallel on the CPU cores
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(work, tiles))
    else:
        for tile in tiles:
            work(tile)


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
    err: dict[str, list[float]] = {q: [] for q in limit}
    for L in depths:
        fin = ResNetSpec(L=L, sw=spec.sw)
        err["nngp"].append(abs(nngp_limit(fin, activation, x, y) - limit["nngp"]))
        err["ntk"].append(abs(ntk_limit(fin, activation, x, y) - limit["ntk"]))
    slope = {}
    for q, errors in err.items():
        e = np.asarray(errors)
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
