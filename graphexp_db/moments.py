"""Gaussian moment oracles for the layer recursion: ``E[(phi^i)^(m)(u) (phi^j)^(n)(v)]``.

The finite-width recursion (:mod:`graphexp_db.recursion`) needs, at every layer, the Taylor
coefficients of ``G -> E_G[phi(u)^i phi(v)^j]`` around the infinite-width kernel ``K``.  By Price's
theorem they are Gaussian expectations of derivatives,

    d/dG_xx E[F] = E[d_u^2 F] / 2,   d/dG_xy E[F] = E[d_u d_v F],   d/dG_yy E[F] = E[d_v^2 F] / 2,

so everything reduces to ``T(i, j, m, n) = E_K[(phi^i)^(m)(u) (phi^j)^(n)(v)]``.  One oracle per
activation family:

* polynomials (``poly:``, ``identity``): exact rationals (Isserlis);
* ``sin``: closed form, ``sin^i`` is a sum of exponentials and ``E[exp(i(ku + lv))]`` is Gaussian;
* ``relu``: closed form; derivatives move onto the Gaussian density (bivariate Hermite polynomials
  of ``K^-1``) and the orthant moments ``E[u^a v^b 1{u>0} 1{v>0}]`` follow a Stein recursion,
  evaluated in 40-digit arithmetic (mpmath);
* ``tanh``, ``erf``, ``gelu``: Taylor jets of ``phi`` on a 2-D trapezoid rule in whitened coordinates
  (spectrally accurate for these entire / strip-analytic functions); the error is estimated by
  repeating the whole computation at a finer rule.

Examples
--------
>>> from fractions import Fraction as F
>>> o = oracle_for("poly:0,1,1", ((F(1), F(1, 2)), (F(1, 2), F(1))))
>>> o.T(1, 1, 0, 0)          # E[(u + u^2)(v + v^2)] = kxy + kxx kyy + 2 kxy^2
Fraction(2, 1)
>>> r = oracle_for("relu", ((1.0, 0.0), (0.0, 1.0)))
>>> round(float(r.T(1, 1, 1, 1)), 12)   # E[step(u) step(v)] = 1/4 for independent u, v
0.25
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .activations import REGISTRY
from .gaussian import gaussian_moment_exact
from .moments_base import _Batched, _Oracle
from .moments_jets import _JETS, _JetOracle
from .moments_relu import _ReluOracle
from .spec import Activation, SpecError, parse_activation

__all__ = ["oracle_for", "EXACT", "CLOSED", "QUADRATURE", "method_of"]

EXACT, CLOSED, QUADRATURE = "exact", "closed-form", "quadrature"


def method_of(activation) -> str:
    """How the oracle of ``activation`` evaluates its moments.

    Parameters
    ----------
    activation : str or Activation
        The activation phi (``relu``, ``tanh``, ``poly:c0,c1,...``, ...).

    Returns
    -------
    str
        ``EXACT`` (polynomials: exact Fractions), ``CLOSED`` (``relu``, ``sin``: closed forms in
        floating point) or ``QUADRATURE`` (``tanh``, ``erf``, ``gelu``: a trapezoid rule with an
        error estimate).

    Examples
    --------
    >>> method_of("tanh"), method_of("relu"), method_of("poly:0,1")
    ('quadrature', 'closed-form', 'exact')
    """
    act = parse_activation(activation)
    if act.is_polynomial:
        return EXACT
    return CLOSED if REGISTRY[act.name].oracle == "closed-form" else QUADRATURE


def oracle_for(activation, K, *, resolution: int = 1, max_derivative: int | None = None):
    """The moment oracle of ``activation`` at covariance ``K`` (1x1 or 2x2 nested tuples).

    ``resolution`` scales the number of quadrature nodes (quadrature activations only): the
    recursion runs twice, at resolutions 1 and 2, and reports the difference as the error.
    Entries of ``K`` may be arrays (one covariance per input pair): the oracle then returns arrays.
    ``max_derivative`` bounds the derivative orders asked (jets are built only that far).

    Parameters
    ----------
    activation : str or Activation
        The activation phi.
    K : tuple of tuples
        The Gaussian covariance: ``((kxx, kxy), (kxy, kyy))`` for two sites or ``((kxx,),)`` for one;
        Fractions for polynomial activations (exact results), floats or equal-length arrays otherwise.
    resolution : int
        Quadrature refinement factor (1 or 2 in the recursion).
    max_derivative : int, optional
        Highest derivative order m, n that will be asked; ``None``: no bound.

    Returns
    -------
    oracle
        An object whose ``T(i, j, m, n)`` is ``E_K[(phi^i)^(m)(u) (phi^j)^(n)(v)]`` (cached) and whose
        ``max_derivative(i)`` is the order beyond which the derivatives of ``phi^i`` vanish
        (``None`` when they never do).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> o = oracle_for("identity", ((F(2), F(1)), (F(1), F(3))))
    >>> o.T(1, 1, 0, 0), o.T(2, 0, 0, 0), o.max_derivative(2)      # E[uv] = kxy, E[u^2] = kxx
    (Fraction(1, 1), Fraction(2, 1), 2)
    >>> r = oracle_for("relu", ((1.0, 0.0), (0.0, 1.0)))
    >>> round(float(r.T(2, 0, 0, 0)), 12)                             # E[relu(u)^2] = kxx / 2
    0.5
    """
    act = parse_activation(activation)
    if act.is_polynomial:
        return _PolyOracle(act, K)
    if act.name == "sin":
        return _SinOracle(K)
    if act.name == "relu":
        if isinstance(K[0][0], np.ndarray):
            return _Batched(K, lambda k: _ReluOracle(k))
        return _ReluOracle(K)
    if act.name in _JETS:
        return _JetOracle(act.name, K, resolution, max_derivative)
    raise SpecError(f"no moment oracle for activation {act}")  # pragma: no cover


# --------------------------------------------------------------------------- polynomials
class _PolyOracle(_Oracle):
    def __init__(self, act: Activation, K):
        super().__init__(K)
        self.c = tuple(act.poly_coeffs)
        self.deg = len(self.c) - 1

    def max_derivative(self, i: int) -> int:
        return self.deg * i

    def _T(self, i, j, m, n):
        p = _poly_deriv_n(_poly_pow(self.c, i), m)
        q = _poly_deriv_n(_poly_pow(self.c, j), n)
        kxy = self.kxy if self.two else Fraction(0)
        kyy = self.kyy if self.two else Fraction(0)
        total = Fraction(0)
        for a, pa in enumerate(p):
            if pa:
                for b, qb in enumerate(q):
                    if qb:
                        total += pa * qb * gaussian_moment_exact(a, b, self.kxx, kxy, kyy)
        return total


@lru_cache(maxsize=4096)
def _poly_pow(c: tuple, i: int) -> tuple:
    out: tuple = (Fraction(1),)
    for _ in range(i):
        nxt = [Fraction(0)] * (len(out) + len(c) - 1)
        for a, x in enumerate(out):
            if x:
                for b, y in enumerate(c):
                    nxt[a + b] += x * y
        out = tuple(nxt)
    return out


def _poly_deriv_n(c: tuple, m: int) -> tuple:
    for _ in range(m):
        c = tuple(k * c[k] for k in range(1, len(c)))
    return c


# --------------------------------------------------------------------------- sin
class _SinOracle(_Oracle):
    """``sin^i(u) = (2i)^-i sum_r C(i, r) (-1)^(i-r) exp(i (2r - i) u)``; each derivative multiplies
    a mode by ``i k`` and ``E[exp(i(ku + lv))] = exp(-(k^2 kxx + 2 k l kxy + l^2 kyy) / 2)``."""

    def _T(self, i, j, m, n):
        kxx = np.asarray(self.kxx, dtype=float)
        kxy = np.asarray(self.kxy, dtype=float) if self.two else 0.0
        kyy = np.asarray(self.kyy, dtype=float) if self.two else 0.0
        total = 0j
        for r in range(i + 1):
            k = 2 * r - i
            a = math.comb(i, r) * (-1) ** (i - r) * (1j * k) ** m / (2j) ** i
            for s in range(j + 1):
                ll = 2 * s - j
                b = math.comb(j, s) * (-1) ** (j - s) * (1j * ll) ** n / (2j) ** j
                total = total + a * b * np.exp(-(k * k * kxx + 2 * k * ll * kxy + ll * ll * kyy) / 2)
        out = np.real(total)
        return float(out) if np.ndim(out) == 0 else out
