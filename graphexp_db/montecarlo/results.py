"""Frozen result types of the Monte Carlo estimators (:mod:`.estimators`): read-only mappings of
host floats with standard errors, so ``r["nngp"]``, ``list(r)`` and ``dict(r)`` work as they did
when results were dicts.

>>> r = KernelEstimate(nngp=0.5, nngp_stderr=0.01, ntk=None, ntk_stderr=None)
>>> r["nngp"], list(r), r.get("missing", 0)
(0.5, ['nngp', 'nngp_stderr', 'ntk', 'ntk_stderr'], 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = [
    "KernelMatrices",
    "KernelEstimate",
    "FourPointEstimate",
    "ResNetCovarianceEstimate",
    "JacobianMomentsEstimate",
    "HessianNormEstimate",
    "NTKDriftEstimate",
]


@dataclass(frozen=True)
class _Result:
    """A frozen result that reads like the dict it replaces: ``r["key"]``, ``list(r)``, ``dict(r)``.

    Keys are the dataclass fields in declaration order (this order is the order of the CLI's JSON);
    a field declared with ``metadata={"optional": True}`` is left out while it is ``None``.  Not a
    ``collections.abc.Mapping``: its ``values()`` method would shadow the field ``values`` of
    :class:`HessianNormEstimate`; ``keys``, ``items``, ``get`` and ``in`` are what callers use.
    """

    def keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if not (f.metadata.get("optional") and getattr(self, f.name) is None))

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.keys() else default

    def __getitem__(self, key: str) -> Any:
        if key in self.keys():
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def to_dict(self) -> dict:
        """A plain (mutable) dict of the result, keys in order."""
        return dict(self.items())


@dataclass(frozen=True, eq=False)
class KernelMatrices(_Result):
    """Empirical NNGP ``f(x_i) f(x_j)`` and NTK matrices (M, M): means, stderrs, and every NTK sample (S, M, M)."""

    nngp: np.ndarray
    nngp_stderr: np.ndarray
    ntk: np.ndarray
    ntk_stderr: np.ndarray
    ntk_samples: np.ndarray


@dataclass(frozen=True)
class KernelEstimate(_Result):
    """E[f(x) f(y)] and NTK(x, y) with standard errors (``ntk`` is None for a ResNet)."""

    nngp: float
    nngp_stderr: float
    ntk: float | None
    ntk_stderr: float | None


@dataclass(frozen=True)
class FourPointEstimate(_Result):
    """Connected 4-point function ``m4 - 3 m2^2`` with its delta-method stderr, the raw moments, and N."""

    value: float
    stderr: float
    m2: float
    m4: float
    N: int


@dataclass(frozen=True)
class ResNetCovarianceEstimate(_Result):
    """<h_(L+1)(x), h_(L+1)(y)> / N with its stderr, at width N and depth L."""

    value: float
    stderr: float
    N: int
    L: int


@dataclass(frozen=True, eq=False)
class JacobianMomentsEstimate(_Result):
    """Moments (1/N) tr[(J J^*)^k], k = 1..kmax, with stderrs; pooled eigenvalues when asked for."""

    moments: list
    stderr: list
    N: int
    samples: int
    q_in: float
    kmax: int
    eigenvalues: np.ndarray | None = field(default=None, metadata={"optional": True})


@dataclass(frozen=True)
class HessianNormEstimate(_Result):
    """Mean spectral norm of the Hessian over networks, its stderr, every value, m, N and iterations used."""

    value: float
    stderr: float
    values: list
    m: int | None
    N: int
    iterations: int


@dataclass(frozen=True)
class NTKDriftEstimate(_Result):
    """Mean relative NTK change after gradient descent, its stderr, m and N."""

    value: float
    stderr: float
    m: int | None
    N: int
