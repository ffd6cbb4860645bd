"""Gaussian expectations behind the infinite-width kernels (MISSION.md F6).

For a pair ``(u, v) ~ N(0, [[kxx, kxy], [kxy, kyy]])`` the NNGP and NTK recursions of
CONVENTIONS.md need the *dual functions* ``E[phi(u) phi(v)]`` and ``E[phi'(u) phi'(v)]``.
This module gives them

* exactly, as rationals, for monomials and polynomial activations (Isserlis / Wick);
* in closed form, vectorised on the array backend, for ``relu`` (arc-cosine kernel), ``erf``
  (arcsine kernel), ``sin`` (sinh / cosh), ``identity`` and polynomials;
* by a 2-D product trapezoid rule on ``[-9.5, 9.5]^2`` otherwise (``tanh``, ``gelu``).  For
  integrands analytic in a strip the trapezoid rule converges like ``exp(-2 pi d / h)``, much
  faster than Gauss--Hermite (``tanh(sqrt(k) x)`` has poles at ``d = pi / (2 sqrt k)``).  The
  default number of nodes per dimension adapts to the largest variance in the call,
  ``n = max(64, 64 sqrt(k_max) + 1)`` (at most 400); the absolute error is then below ``1e-10``
  for ``k_max <= 9`` (checked against ``n = 301`` in ``tests/unit/test_limits.py``).

Examples
--------
>>> from fractions import Fraction as F
>>> gaussian_moment_exact(2, 2, 1, F(1, 2), 1)   # E[u^2 v^2] = kxx kyy + 2 kxy^2
Fraction(3, 2)
>>> import numpy as np
>>> e, d = dual(parse_activation("relu"), np.array(1.0), np.array(1.0), np.array(1.0))
>>> float(e), float(d)   # E[relu(u)^2] = k/2, E[step(u)^2] = 1/2
(0.5, 0.5)

References
----------
Cho & Saul, "Kernel methods for deep learning" (arc-cosine kernel); Williams, "Computing with
infinite networks" (arcsine kernel); arXiv:2407.08459, section on the limits.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .activations import REGISTRY
from .activations import ndtr as _ndtr
from .counts import isserlis_count
from .spec import SpecError, parse_activation

__all__ = [
    "LimitError",
    "gaussian_moment_exact",
    "poly_dual_exact",
    "dual",
    "dual_diag",
    "derivative_measure",
    "CLOSED_FORMS",
    "QUADRATURE_NODES",
    "quadrature_nodes",
]

#: activations whose dual functions are evaluated in closed form (the rest use the 2-D trapezoid rule)
CLOSED_FORMS = (*(n for n, a in REGISTRY.items() if a.dual == "closed-form"), "identity", "poly")
#: default number of quadrature nodes per dimension: ``None`` adapts it to the variances
QUADRATURE_NODES = None


class LimitError(SpecError):
    """A limit cannot be computed for these inputs (one line for the user).

    Parameters
    ----------
    message : str
        What cannot be computed, and why.

    Examples
    --------
    >>> gaussian_moment_exact(-1, 2, 1, 0, 1)
    Traceback (most recent call last):
    ...
    graphexp_db.gaussian.LimitError: Gaussian moment powers must be >= 0, got (-1, 2)
    >>> issubclass(LimitError, SpecError)
    True
    """


# --------------------------------------------------------------------------- exact
def gaussian_moment_exact(a: int, b: int, kxx, kxy, kyy) -> Fraction:
    """E[u^a v^b] for ``(u, v) ~ N(0, [[kxx, kxy], [kxy, kyy]])``, exactly (Isserlis).

    The pairings of ``a`` copies of ``u`` and ``b`` copies of ``v`` with ``j`` mixed pairs number
    ``C(a, j) C(b, j) j! (a-j-1)!! (b-j-1)!!``; each contributes ``kxy^j kxx^((a-j)/2) kyy^((b-j)/2)``.

    Parameters
    ----------
    a, b : int
        Non-negative powers.
    kxx, kxy, kyy : Fraction, int, or numbers convertible exactly
        The covariance entries.

    Returns
    -------
    Fraction

    Examples
    --------
    >>> gaussian_moment_exact(4, 0, 2, 0, 0)   # 3 kxx^2
    Fraction(12, 1)
    >>> gaussian_moment_exact(1, 3, 1, Fraction(1, 3), 2)   # 3 kxy kyy
    Fraction(2, 1)
    >>> gaussian_moment_exact(1, 2, 1, 1, 1)
    Fraction(0, 1)
    """
    if a < 0 or b < 0:
        raise LimitError(f"Gaussian moment powers must be >= 0, got ({a}, {b})")
    kxx, kxy, kyy = (_exact(k) for k in (kxx, kxy, kyy))
    if (a + b) % 2:
        return Fraction(0)
    total = Fraction(0)
    for j in range(min(a, b) + 1):
        if (a - j) % 2 or (b - j) % 2:
            continue
        count = isserlis_count(a, b, j)
        total += count * kxy**j * kxx ** ((a - j) // 2) * kyy ** ((b - j) // 2)
    return total


def poly_dual_exact(coeffs_x, coeffs_y, kxx, kxy, kyy) -> Fraction:
    """E[p(u) q(v)] for polynomials with exact coefficients ``p = sum coeffs_x[i] z^i``.

    Parameters
    ----------
    coeffs_x, coeffs_y : sequence
        Coefficients ``c_0, c_1, ...`` of p and q (ints, Fractions or exact decimals).
    kxx, kxy, kyy : Fraction, int, or numbers convertible exactly
        The covariance of ``(u, v)``.

    Returns
    -------
    Fraction
        The exact expectation (Isserlis, term by term).

    Examples
    --------
    >>> poly_dual_exact((0, 1), (0, 1), 1, Fraction(1, 2), 1)
    Fraction(1, 2)
    >>> poly_dual_exact((0, 1, 1), (0, 1, 1), 1, Fraction(1, 2), 1)   # kxy + kxx kyy + 2 kxy^2
    Fraction(2, 1)
    """
    kxx, kxy, kyy = (_exact(k) for k in (kxx, kxy, kyy))
    return sum(
        (Fraction(ci) * Fraction(cj) * gaussian_moment_exact(i, j, kxx, kxy, kyy)
         for i, ci in enumerate(coeffs_x) if ci
         for j, cj in enumerate(coeffs_y) if cj),
        Fraction(0),
    )


def _exact(v) -> Fraction:
    if isinstance(v, Fraction):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return Fraction(v)
    if isinstance(v, float) and not math.isfinite(v):
        raise LimitError(f"non-finite number {v!r}")
    try:
        return Fraction(str(v))
    except (ValueError, ZeroDivisionError):
        raise LimitError(f"not an exact number: {v!r}") from None


def _poly_deriv(c: tuple) -> tuple:
    return tuple(i * c[i] for i in range(1, len(c))) or (Fraction(0),)


# --------------------------------------------------------------------------- vectorised duals
def dual(activation, kxx, kxy, kyy, *, derivative: bool = True, n: int | None = QUADRATURE_NODES, xp=None):
    """``(E[phi(u) phi(v)], E[phi'(u) phi'(v)])`` elementwise over broadcast arrays.

    Parameters
    ----------
    activation : Activation or str
        The activation phi.
    kxx, kxy, kyy : arrays (NumPy or CuPy), broadcastable
        Covariance entries; ``kxx, kyy >= 0`` and ``kxy^2 <= kxx kyy`` (clipped for rounding).
    derivative : bool
        Also return the derivative dual (needed for the NTK); ``None`` in its place otherwise.
    n : int or None
        Quadrature nodes per dimension for activations without a closed form (None: adaptive,
        see the module docstring).
    xp : module, optional
        ``numpy`` or ``cupy``; default: the namespace of the covariance arrays.

    Returns
    -------
    (array, array or None)
        ``E[phi(u) phi(v)]`` and ``E[phi'(u) phi'(v)]`` (``None`` without ``derivative``), with the
        broadcast shape of the covariance entries.

    Raises
    ------
    LimitError
        when the derivative is asked for an activation that has none here.

    Examples
    --------
    >>> import numpy as np
    >>> e, d = dual("sin", np.array([1.0, 1.0]), np.array([0.0, 0.5]), np.array([1.0, 1.0]))
    >>> np.allclose(e, [0.0, math.exp(-1) * math.sinh(0.5)]), np.allclose(d[0], math.exp(-1))  # e^-1 sinh(kxy), e^-1 cosh(kxy)
    (True, True)
    >>> dual("identity", 1.0, 0.25, 1.0, derivative=False)
    (0.25, None)
    """
    act = parse_activation(activation)
    if xp is None:
        from .backend import array_namespace

        xp = array_namespace(kxx, kxy, kyy)
    name = act.name
    with np.errstate(all="ignore"):
        if name == "identity":
            return kxy * 1.0, (xp.ones_like(kxy * 1.0) if derivative else None)
        if name == "relu":
            return _relu(kxx, kxy, kyy, xp, derivative)
        if name == "erf":
            return _erf(kxx, kxy, kyy, xp, derivative)
        if name == "sin":
            scale = xp.exp(-(kxx + kyy) / 2)
            return scale * xp.sinh(kxy), (scale * xp.cosh(kxy) if derivative else None)
        if name == "poly":
            c = act.poly_coeffs
            e = _poly_dual_float(c, c, kxx, kxy, kyy, xp)
            d = _poly_dual_float(_poly_deriv(c), _poly_deriv(c), kxx, kxy, kyy, xp) if derivative else None
            return e, d
        if name in _QUAD_FUNCS:
            return _quad2d(act.name, kxx, kxy, kyy, xp, derivative, n)
    raise LimitError(f"no Gaussian expectation available for activation {act}")  # pragma: no cover


def dual_diag(activation, k, *, derivative: bool = False, n: int | None = QUADRATURE_NODES, xp=None):
    """``E[phi(u)^2]`` (and ``E[phi'(u)^2]``) for ``u ~ N(0, k)``.

    Parameters
    ----------
    activation : Activation or str
        The activation phi.
    k : array (NumPy or CuPy)
        Variances (>= 0).
    derivative : bool
        Also return ``E[phi'(u)^2]``.
    n : int or None
        Quadrature nodes per dimension (``None``: adaptive).
    xp : module, optional
        ``numpy`` or ``cupy``; default: the namespace of ``k``.

    Returns
    -------
    (array, array or None)
        As :func:`dual` with ``kxx = kxy = kyy = k``.

    Examples
    --------
    >>> import numpy as np
    >>> [float(v) for v in dual_diag("relu", np.array(2.0), derivative=True)]   # k/2 and 1/2
    [1.0, 0.5]
    >>> round(float(dual_diag("erf", np.array(0.5))[0]), 12)   # (2/pi) arcsin(1/2) = 1/3
    0.333333333333
    """
    return dual(activation, k, k, k, derivative=derivative, n=n, xp=xp)


def _relu(kxx, kxy, kyy, xp, derivative):
    norm = xp.sqrt(kxx * kyy)
    safe = xp.where(norm > 0, norm, 1.0)
    cos = xp.clip(xp.where(norm > 0, kxy / safe, 1.0), -1.0, 1.0)
    theta = xp.arccos(cos)
    e = norm / (2 * math.pi) * (xp.sqrt(1 - cos * cos) + (math.pi - theta) * cos)
    d = (math.pi - theta) / (2 * math.pi) if derivative else None
    return e, d


def _erf(kxx, kxy, kyy, xp, derivative):
    a = 1 + 2 * kxx
    b = 1 + 2 * kyy
    e = (2 / math.pi) * xp.arcsin(xp.clip(2 * kxy / xp.sqrt(a * b), -1.0, 1.0))
    d = (4 / math.pi) / xp.sqrt(a * b - 4 * kxy * kxy) if derivative else None
    return e, d


def _poly_dual_float(cx, cy, kxx, kxy, kyy, xp):
    out = kxy * 0.0
    for i, ci in enumerate(cx):
        if not ci:
            continue
        for j, cj in enumerate(cy):
            if not cj or (i + j) % 2:
                continue
            term = kxy * 0.0
            for m in range(min(i, j) + 1):
                if (i - m) % 2 or (j - m) % 2:
                    continue
                count = isserlis_count(i, j, m)
                term = term + float(count) * kxy**m * kxx ** ((i - m) // 2) * kyy ** ((j - m) // 2)
            out = out + float(Fraction(ci) * Fraction(cj)) * term
    return out


#: (phi, phi') of the activations whose duals use the 2-D trapezoid rule (from the registry)
_QUAD_FUNCS = {n: (a.phi, a.dphi) for n, a in REGISTRY.items() if a.dual == "quadrature"}


@lru_cache(maxsize=16)
def _trapezoid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoid rule for the standard normal on [-9.5, 9.5] with ``n`` equispaced nodes.

    For an integrand analytic in the strip ``|Im x| < d`` the error is ``O(exp(-2 pi d / h))``
    (``h`` the step), plus the cut tail ``~1e-20``: far faster than Gauss--Hermite, whose error
    only falls like ``exp(-2 d sqrt(2n))`` (tanh(a x) has poles at ``d = pi / (2a)``).
    """
    x = np.linspace(-_TRAP_R, _TRAP_R, n)
    h = x[1] - x[0]
    return x, h * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


_TRAP_R = 9.5


def quadrature_nodes(kmax: float) -> int:
    """Adaptive node count per dimension for variances up to ``kmax``.

    ``n = max(64, ceil(64 sqrt(kmax)) + 1)``, at most 400 (also for infinite ``kmax``).

    Parameters
    ----------
    kmax : float
        The largest variance of the call.

    Returns
    -------
    int
        Trapezoid nodes per dimension.

    Examples
    --------
    >>> quadrature_nodes(1.0), quadrature_nodes(4.0), quadrature_nodes(1e6)
    (65, 129, 400)
    """
    if not math.isfinite(kmax):
        return 400
    return int(min(400, max(64, math.ceil(64 * math.sqrt(max(kmax, 0.0))) + 1)))


def _quad2d(name, kxx, kxy, kyy, xp, derivative, n):
    f, fp = _QUAD_FUNCS[name]
    if n is None:
        kmax = float(xp.max(xp.maximum(xp.asarray(kxx, dtype=float), xp.asarray(kyy, dtype=float))))
        n = quadrature_nodes(kmax)
    x, w = _trapezoid(n)
    x = xp.asarray(x)
    w = xp.asarray(w)
    kxx, kxy, kyy = xp.broadcast_arrays(*(xp.asarray(k, dtype=float) for k in (kxx, kxy, kyy)))
    # u = a z1, v = b z1 + c z2 with a^2 = kxx, a b = kxy, b^2 + c^2 = kyy
    a = xp.sqrt(kxx)
    b = xp.where(a > 0, kxy / xp.where(a > 0, a, 1.0), 0.0)
    c = xp.sqrt(xp.maximum(kyy - b * b, 0.0))
    u = a[..., None] * x                                     # (..., n)
    if name == "gelu":
        # the inner expectation over z2 is a Gaussian integral in closed form: 1-D rule only
        inners = _gelu_inner(b[..., None] * x, c[..., None], xp, derivative)
        outs = [(g(u, xp) * inner) @ w for g, inner in zip((f, fp), inners)]
        return outs[0], (outs[1] if derivative else None)
    v = b[..., None, None] * x[:, None] + c[..., None, None] * x[None, :]   # (..., n, n)
    outs = []
    for g in ((f, fp) if derivative else (f,)):
        inner = g(v, xp) @ w                                 # (..., n): E over z2
        outs.append((g(u, xp) * inner) @ w)
    return outs[0], (outs[1] if derivative else None)


def _gelu_inner(m, s, xp, derivative: bool):
    """E[gelu(v)] and E[gelu'(v)] for v ~ N(m, s^2), with t = sqrt(1 + s^2):
    E[v Phi(v)] = m Phi(m/t) + s^2 pdf(m/t)/t,  E[Phi(v)] = Phi(m/t),  E[v pdf(v)] = m pdf(m/t)/t^3."""
    t = xp.sqrt(1.0 + s * s)
    r = m / t
    cdf = _ndtr(r, xp)
    pdf = xp.exp(-r * r / 2) / math.sqrt(2 * math.pi)
    e = m * cdf + s * s * pdf / t
    return (e, cdf + m * pdf / t**3) if derivative else (e,)


# --------------------------------------------------------------------------- 1-D laws of phi'(z)^2
def derivative_measure(activation, q: float, n: int | None = None, kmax: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A discrete law ``(t_i, w_i)`` for ``phi'(z)^2``, ``z ~ N(0, q)`` (the law of ``D_l^2``).

    Exact for ``relu`` (Bernoulli(1/2): atoms 0 and 1) and ``identity`` (atom at 1); otherwise the
    trapezoid rule on ``[-9.5, 9.5]`` (standardised) with step ``h = min(0.15, 0.25/(sqrt(q)
    sqrt(2 kmax)))``: ``phi'(z)^(2j)`` for ``j <= kmax`` is peaked with width about
    ``1/sqrt(2 j q)``, and the rule resolves it with relative error below ``1e-12`` (checked in
    ``tests/unit/test_jacobian.py``; Gauss--Hermite is far worse here: 27% off for ``tanh``,
    ``q = 2``, ``j = 20`` with 160 nodes).  Nodes of weight below ``1e-18`` are dropped.

    Parameters
    ----------
    activation : Activation or str
        The activation phi.
    q : float
        The variance of z (the layer's q_l), finite and >= 0.
    n : int, optional
        Trapezoid nodes; default from the step rule above.
    kmax : int
        The highest moment ``E[phi'(z)^(2j)]``, ``j <= kmax``, the law must resolve.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Atoms ``t_i = phi'(z_i)^2`` and weights ``w_i`` (summing to 1 up to the cut tail).

    Raises
    ------
    LimitError
        For a negative or non-finite ``q``.

    Examples
    --------
    >>> t, w = derivative_measure("relu", 1.0)
    >>> t.tolist(), w.tolist()
    ([0.0, 1.0], [0.5, 0.5])
    >>> t, w = derivative_measure("tanh", 1.0)        # its mean is E[tanh'(z)^2], z ~ N(0, 1)
    >>> import numpy as np
    >>> abs(float(t @ w) - float(dual_diag("tanh", np.array(1.0), derivative=True)[1])) < 1e-9
    True
    """
    act = parse_activation(activation)
    if q < 0 or not math.isfinite(q):
        raise LimitError(f"variance q must be finite and >= 0, got {q}")
    if act.name == "relu":
        return np.array([0.0, 1.0]), np.array([0.5, 0.5])
    if act.name == "identity":
        return np.array([1.0]), np.array([1.0])
    if n is None:
        h = min(0.15, 0.25 / (math.sqrt(max(q, 1e-300)) * math.sqrt(2 * max(kmax, 1))))
        n = int(min(40001, math.ceil(2 * _TRAP_R / h) + 1))
    x, w = _trapezoid(n)
    keep = w > 1e-18
    x, w = x[keep], w[keep]
    z = math.sqrt(q) * x
    d: np.ndarray
    if act.name == "erf":
        d = 2 / math.sqrt(math.pi) * np.exp(-z * z)
    elif act.name == "sin":
        d = np.cos(z)
    elif act.name == "poly":
        d = np.polynomial.polynomial.polyval(z, [float(c) for c in _poly_deriv(act.poly_coeffs)])
    elif act.name in _QUAD_FUNCS:
        d = _QUAD_FUNCS[act.name][1](z, np)
    else:  # pragma: no cover - every grammar activation is handled above
        raise LimitError(f"activation {act} has no derivative available for the Jacobian")
    return d * d, w
