"""The closed-form moment oracle of ``relu`` (see :mod:`graphexp_db.moments`): derivatives moved onto
the bivariate Gaussian density, orthant moments by a Stein recursion in 40-digit arithmetic.

>>> round(float(_ReluOracle(((1.0, 0.0), (0.0, 1.0))).T(1, 1, 0, 0)), 12)   # E[relu u] E[relu v] = 1/(2 pi)
0.159154943092
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

from .gaussian import gaussian_moment_exact
from .moments_base import _Oracle
from .spec import SpecError

__all__: list[str] = []


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
                raise SpecError("relu finite-width corrections at parallel inputs x, y: the two-site Taylor terms "
                                "E[delta(u) delta(v)] diverge (the covariance at y = x is computed with one site; "
                                "the NTK and mixed 4-point need y not parallel to x)")
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
