"""The quadrature moment oracle of the smooth activations (tanh, erf, gelu; see
:mod:`graphexp_db.moments`): Taylor jets of ``phi`` on a trapezoid rule in whitened coordinates, with
the inner expectations by Gaussian integration by parts.

>>> o = _JetOracle("tanh", ((1.0, 0.0), (0.0, 1.0)), 1)
>>> abs(o.T(1, 1, 0, 0)) < 1e-15      # E[tanh u] E[tanh v] = 0 for independent u, v
True
"""

from __future__ import annotations

import math

import numpy as np

from .activations import REGISTRY
from .gaussian import _trapezoid, quadrature_nodes
from .moments_base import _Oracle
from .spec import SpecError

__all__: list[str] = []


#: Taylor jets (derivatives 0..M) of the activations with a quadrature oracle, from the registry
_JETS = {n: a.jet for n, a in REGISTRY.items() if a.oracle == "quadrature" and a.jet is not None}
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
