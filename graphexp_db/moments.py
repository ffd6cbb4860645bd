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

from .gaussian import _trapezoid, gaussian_moment_exact, quadrature_nodes
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
    return CLOSED if act.name in ("sin", "relu") else QUADRATURE


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


class _Oracle:
    """Caches ``T(i, j, m, n)``; ``K`` is ((kxx, kxy), (kxy, kyy)) or ((kxx,),)."""

    def __init__(self, K):
        self.two = len(K) == 2
        self.kxx = K[0][0]
        self.kxy = K[0][1] if self.two else None
        self.kyy = K[1][1] if self.two else None
        self._cache: dict = {}

    def _T(self, i: int, j: int, m: int, n: int):
        raise NotImplementedError

    def T(self, i: int, j: int, m: int, n: int):
        key = (i, j, m, n)
        if key not in self._cache:
            if not self.two and (j or n):
                raise ValueError("one-site oracle has no second variable")
            self._cache[key] = self._T(i, j, m, n)
        return self._cache[key]

    def max_derivative(self, i: int) -> int | None:
        """Derivatives beyond this order vanish (polynomials); ``None`` if they never do."""
        return None

    def release(self) -> None:
        """Drop work arrays (quadrature jets); computed values stay cached."""


class _Batched(_Oracle):
    """A scalar oracle applied pair by pair when K's entries are arrays."""

    def __init__(self, K, make):
        super().__init__(K)
        P = len(K[0][0])
        self.parts = [make(tuple(tuple(float(e[p]) for e in row) for row in K)) for p in range(P)]

    def _T(self, i, j, m, n):
        return np.array([o.T(i, j, m, n) for o in self.parts])


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


# --------------------------------------------------------------------------- relu
class _ReluOracle(_Oracle):
    """Closed form for ``phi = relu`` in 40-digit arithmetic (returned as float).

    ``E[f^(m)(u) g^(n)(v)] = E[f(u) g(v) H_mn(u, v)]`` with ``H_mn p = (-1)^(m+n) d_u^m d_v^n p``
    (integration by parts against the Gaussian density ``p``), and ``relu^i(u) = u^i 1{u > 0}``.
    Needs a non-singular ``K`` when both sites are used.
    """

    def __init__(self, K):
        super().__init__(K)
        from mpmath import MPContext

        self.mp = MPContext()   # private 40-digit context: leaves mpmath's global precision alone
        self.mp.dps = 40
        mpf = self.mp.mpf
        self.k = [[mpf(str(self.kxx))]]
        if self.two:
            kxy, kyy = mpf(str(self.kxy)), mpf(str(self.kyy))
            self.k = [[self.k[0][0], kxy], [kxy, kyy]]
            det = self.k[0][0] * kyy - kxy * kxy
            if det <= mpf(10) ** -30 * self.k[0][0] * kyy:
                raise SpecError("relu finite-width corrections need x and y not parallel (the kernel is singular); use one input")
            self.P = [[kyy / det, -kxy / det], [-kxy / det, self.k[0][0] / det]]
        self._om: dict = {}
        self._H: dict = {}

    def _half(self, b: int):
        # E[z^b 1{z > 0}], z ~ N(0, 1)
        mp = self.mp
        return mp.mpf(2) ** (mp.mpf(b) / 2) * mp.gamma(mp.mpf(b + 1) / 2) / (2 * mp.sqrt(mp.pi))

    def _T(self, i, j, m, n):
        mp = self.mp
        if not self.two:
            # sigma^(i-m) E[z^i 1{z>0} He_m(z)]  (i >= 1), or E[He_m(z)] = [m == 0]  (i == 0)
            s = mp.sqrt(self.k[0][0])
            if i == 0:
                return 1.0 if m == 0 else 0.0
            he = _hermite_e(m)
            val = sum(mp.mpf(c) * self._half(i + p) for p, c in enumerate(he) if c)
            return float(val * s ** (i - m))
        H = self._hermite2(m, n)
        total = mp.mpf(0)
        for (p, q), c in H.items():
            total += c * self._orthant(i + p, j + q, i > 0, j > 0)
        return float(total)

    def _hermite2(self, m, n):
        """H_mn as {(p, q): coefficient of u^p v^q}, by H_(m+1)n = (P00 u + P01 v) H - d_u H."""
        key = (m, n)
        if key in self._H:
            return self._H[key]
        if m == 0 and n == 0:
            out = {(0, 0): self.mp.mpf(1)}
        elif m > 0:
            prev = self._hermite2(m - 1, n)
            out = self._raise(prev, 0)
        else:
            prev = self._hermite2(m, n - 1)
            out = self._raise(prev, 1)
        self._H[key] = out
        return out

    def _raise(self, H, axis):
        P = self.P
        a0, a1 = (P[0][0], P[0][1]) if axis == 0 else (P[1][0], P[1][1])
        out: dict = {}
        for (p, q), c in H.items():
            for (dp, dq), f in (((1, 0), a0), ((0, 1), a1)):
                k = (p + dp, q + dq)
                out[k] = out.get(k, 0) + c * f
            if axis == 0 and p:
                out[(p - 1, q)] = out.get((p - 1, q), 0) - c * p
            if axis == 1 and q:
                out[(p, q - 1)] = out.get((p, q - 1), 0) - c * q
        return out

    def _orthant(self, a: int, b: int, iu: bool, iv: bool):
        """E[u^a v^b 1{u>0}^iu 1{v>0}^iv] for (u, v) ~ N(0, K)."""
        key = (a, b, iu, iv)
        if key in self._om:
            return self._om[key]
        mp, k = self.mp, self.k
        if not iu and not iv:
            val = self._plain(a, b)
        elif iu and not iv:
            val = self._one_sided(b, a, k[1][1], k[0][1], k[0][0])
        elif iv and not iu:
            val = self._one_sided(a, b, k[0][0], k[0][1], k[1][1])
        elif a == 0 and b == 0:
            rho = k[0][1] / mp.sqrt(k[0][0] * k[1][1])
            val = mp.mpf(1) / 4 + mp.asin(rho) / (2 * mp.pi)
        elif a >= 1:
            # Stein on u: E[u g] = K00 E[d_u g] + K01 E[d_v g], g = u^(a-1) v^b 1{u>0} 1{v>0}
            val = k[0][0] * ((a - 1) * self._orthant(a - 2, b, True, True) if a >= 2 else 0)
            if a == 1:
                val += k[0][0] * self._delta(b, 0)
            val += k[0][1] * (b * self._orthant(a - 1, b - 1, True, True) if b >= 1 else 0)
            if b == 0:
                val += k[0][1] * self._delta(a - 1, 1)
        else:
            return self._stein_v(b)
        self._om[key] = val
        return val

    def _stein_v(self, b: int):
        # E[v^b 1{u>0}1{v>0}] with a = 0: Stein on v
        k = self.k
        val = k[1][1] * ((b - 1) * self._orthant(0, b - 2, True, True) if b >= 2 else 0)
        if b == 1:
            val += k[1][1] * self._delta(0, 1)
        val += k[0][1] * self._delta(b - 1, 0)
        self._om[(0, b, True, True)] = val
        return val

    def _delta(self, power: int, axis: int):
        """E[delta(u) v^power 1{v>0}] (axis 0) or E[u^power 1{u>0} delta(v)] (axis 1)."""
        mp, k = self.mp, self.k
        kss = k[0][0] if axis == 0 else k[1][1]
        koo = k[1][1] if axis == 0 else k[0][0]
        s2 = koo - k[0][1] ** 2 / kss
        return (2 * mp.pi * kss) ** mp.mpf(-0.5) * mp.sqrt(s2) ** power * self._half(power)

    def _one_sided(self, a: int, b: int, kaa, kab, kbb):
        """E[w^a z^b 1{z > 0}] with var(w) = kaa, cov = kab, var(z) = kbb: w | z ~ N(beta z, s^2)."""
        mp = self.mp
        beta = kab / kbb
        s2 = kaa - kab * kab / kbb
        total = mp.mpf(0)
        for r in range(0, a + 1, 2):
            # E[w^a | z] = sum_r C(a, r) (beta z)^(a-r) s^r (r-1)!!
            coeff = math.comb(a, r) * _dfact(r - 1) * s2 ** (r // 2) * beta ** (a - r)
            c = a - r + b
            total += coeff * kbb ** (mp.mpf(c) / 2) * self._half(c)
        return total

    def _plain(self, a, b):
        return self.mp.mpf(gaussian_moment_exact(a, b, Fraction(str(self.kxx)), Fraction(str(self.kxy)), Fraction(str(self.kyy))))


def _dfact(n: int) -> int:
    return math.prod(range(n, 0, -2)) if n > 0 else 1


@lru_cache(maxsize=64)
def _hermite_e(m: int) -> tuple[int, ...]:
    """Probabilists' Hermite polynomial He_m as integer coefficients of 1, z, ..., z^m."""
    a: tuple[int, ...] = (1,)
    b: tuple[int, ...] = (0, 1)
    if m == 0:
        return a
    for k in range(1, m):
        # He_(k+1) = z He_k - k He_(k-1)
        nxt = [0] * (k + 2)
        for p, c in enumerate(b):
            nxt[p + 1] += c
        for p, c in enumerate(a):
            nxt[p] -= k * c
        a, b = b, tuple(nxt)
    return b


# --------------------------------------------------------------------------- smooth: jets
def _tanh_jet(z: np.ndarray, M: int) -> list[np.ndarray]:
    # Taylor coefficients c_k of tanh(z + h) from t' = 1 - t^2: (k+1) c_(k+1) = [k == 0] - sum_r c_r c_(k-r)
    c = [np.tanh(z)]
    for k in range(M):
        acc = -sum(c[r] * c[k - r] for r in range(k + 1))
        if k == 0:
            acc = acc + 1.0
        c.append(acc / (k + 1))
    return [ck * math.factorial(k) for k, ck in enumerate(c)]   # derivatives


def _erf_jet(z: np.ndarray, M: int) -> list[np.ndarray]:
    from scipy.special import erf

    out = [erf(z)]
    g = 2 / math.sqrt(math.pi) * np.exp(-z * z)
    for k in range(1, M + 1):
        # d^k erf = (2/sqrt pi) (-1)^(k-1) H_(k-1)(z) exp(-z^2)  (physicists' Hermite)
        c = np.zeros(k)
        c[-1] = 1
        out.append((-1) ** (k - 1) * np.polynomial.hermite.hermval(z, c) * g)
    return out


def _gelu_jet(z: np.ndarray, M: int) -> list[np.ndarray]:
    from scipy.special import ndtr

    pdf = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    def Phi(k):  # k-th derivative of the normal cdf
        if k == 0:
            return ndtr(z)
        c = np.zeros(k)
        c[-1] = 1
        return (-1) ** (k - 1) * np.polynomial.hermite_e.hermeval(z, c) * pdf

    # (z Phi)^(k) = z Phi^(k) + k Phi^(k-1)
    return [z * Phi(0)] + [z * Phi(k) + k * Phi(k - 1) for k in range(1, M + 1)]


_JETS = {"tanh": _tanh_jet, "erf": _erf_jet, "gelu": _gelu_jet}
_SINGULAR = 0.1   # pairs with c <= 0.1 sqrt(kyy) keep jets for the inner derivatives (c^-n <= 1e4 at n = 4)


class _JetOracle(_Oracle):
    """``E[(phi^i)^(m)(u) (phi^j)^(n)(v)]`` on the trapezoid rule of :mod:`graphexp_db.gaussian`
    in whitened coordinates ``u = a z1, v = b z1 + c z2`` (works for singular ``K`` too).
    Entries of ``K`` may be arrays of P covariances: the grids get a leading axis P."""

    MAX_DERIV = 12

    def __init__(self, name: str, K, resolution: int, max_derivative: int | None = None):
        super().__init__(K)
        kxx = np.asarray(self.kxx, dtype=float)
        kxy = np.asarray(self.kxy, dtype=float) if self.two else np.zeros_like(kxx)
        kyy = np.asarray(self.kyy, dtype=float) if self.two else np.zeros_like(kxx)
        self.M = self.MAX_DERIV if max_derivative is None else min(self.MAX_DERIV, max_derivative)
        nodes = quadrature_nodes(float(np.max(np.maximum(kxx, kyy)))) * resolution + (resolution - 1)
        z, w = _trapezoid(nodes)
        a = np.sqrt(kxx)
        b = np.where(a > 0, kxy / np.where(a > 0, a, 1.0), 0.0)
        c = np.sqrt(np.maximum(kyy - b * b, 0.0))
        self.w = w
        self.u = a[..., None] * z                                              # (..., n)
        self.v = (b[..., None, None] * z[:, None] + c[..., None, None] * z[None, :]) if self.two else None
        self.jet = _JETS[name]
        self._pow_u: dict = {}
        self._inner: dict = {}
        if self.two:
            # Inner expectations over z2 by Gaussian integration by parts,
            # E_z2[g^(n)(b z1 + c z2)] = c^-n E_z2[g(b z1 + c z2) He_n(z2)]: values of phi^j on the
            # 2-D grid instead of Taylor jets there.  Near-singular pairs (c small against sqrt(kyy),
            # where c^-n would amplify rounding) keep the jets, on their own sub-grid.
            self.c = c
            self.z = z
            self.singular = c <= _SINGULAR * np.sqrt(np.maximum(kyy, 1e-300))
            self._v_sing: np.ndarray | None = None
            self._pow_vs: dict = {}

    def _derivs(self, x: np.ndarray, store: dict, i: int, m: int) -> np.ndarray:
        """(phi^i)^(m) at the points x, from Taylor jets of phi raised to the power i."""
        M = self.M
        if m > M:
            raise SpecError(f"derivative order {m} over {M}: lower --max-order")
        if "jet" not in store:
            d = self.jet(x, M)
            store["jet"] = [d[k] / math.factorial(k) for k in range(M + 1)]
        key = ("pow", i)
        if key not in store:
            # store powers incrementally: phi^i = phi^(i-1) * phi as truncated Taylor series
            prev = store[("pow", i - 1)] if i > 0 and ("pow", i - 1) in store else None
            if i == 0:
                acc = [np.ones_like(x)] + [np.zeros_like(x)] * M
            elif i == 1:
                acc = store["jet"]
            else:
                prev = prev if prev is not None else self._power(x, store, i - 1)
                base = store["jet"]
                acc = []
                for k in range(M + 1):
                    term = prev[0] * base[k]
                    for r in range(1, k + 1):
                        term += prev[r] * base[k - r]
                    acc.append(term)
            store[key] = acc
        return store[key][m] * math.factorial(m)

    def release(self) -> None:
        for store in (self._pow_u, self._inner, getattr(self, "_pow_vs", {})):
            store.clear()
        if self.two:
            self._v_sing = None

    def _power(self, x, store, i):
        self._derivs(x, store, i, 0)
        return store[("pow", i)]

    def _phi_v_power(self, j: int) -> np.ndarray:
        """phi(v)^j on the 2-D grid, by repeated products (cached)."""
        if ("phi", j) not in self._pow_vs:
            assert self.v is not None
            if j == 1:
                val = self.jet(self.v, 0)[0]
            else:
                val = self._phi_v_power(j // 2) * self._phi_v_power(j - j // 2)
            self._pow_vs[("phi", j)] = val
        return self._pow_vs[("phi", j)]

    def _inner_mean(self, j: int, n: int) -> np.ndarray:
        """``E_z2[(phi^j)^(n)(b z1 + c z2)]`` at every z1 node: shape (..., nodes)."""
        if j == 0:
            return np.full(self.u.shape, 1.0 if n == 0 else 0.0)
        if ("herm", j) not in self._pow_vs:
            g = self._phi_v_power(j)
            # every order n at once: one matrix product with the weights He_n(z2) w(z2), then / c^n
            H = np.stack([np.polynomial.hermite_e.hermeval(self.z, [0] * k + [1]) for k in range(self.M + 1)], axis=1)
            c = np.where(self.singular, 1.0, self.c)[..., None, None]
            self._pow_vs[("herm", j)] = (g @ (H * self.w[:, None])) / c ** np.arange(self.M + 1)
        out = self._pow_vs[("herm", j)][..., n]
        if n and np.any(self.singular):
            assert self.v is not None
            if self._v_sing is None:
                self._v_sing = self.v[self.singular]
            out = out.copy()
            out[self.singular] = self._derivs(self._v_sing, self._pow_vs, j, n) @ self.w
        return out

    def _T(self, i, j, m, n):
        du = self._derivs(self.u, self._pow_u, i, m)
        if not self.two:
            out = du @ self.w
        else:
            key = (j, n)
            if key not in self._inner:
                self._inner[key] = self._inner_mean(j, n)   # E over z2
            out = (du * self._inner[key]) @ self.w
        return float(out) if np.ndim(out) == 0 else out
