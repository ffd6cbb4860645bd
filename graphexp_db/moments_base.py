"""The moment-oracle base class of :mod:`graphexp_db.moments`: caching of
``T(i, j, m, n) = E_K[(phi^i)^(m)(u) (phi^j)^(n)(v)]`` and the pair-by-pair batch wrapper.

>>> issubclass(_Batched, _Oracle)
True
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


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
