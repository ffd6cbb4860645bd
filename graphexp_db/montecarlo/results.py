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
    """Empirical NNGP ``f(x_i) f(x_j)`` and NTK matrices (M, M): means, stderrs, and every NTK sample (S, M, M).

    Parameters
    ----------
    nngp : numpy.ndarray, shape (M, M)
        Mean of f(x_i) f(x_j) over the S networks.
    nngp_stderr : numpy.ndarray, shape (M, M)
        Its standard error (sample standard deviation / sqrt(S)).
    ntk : numpy.ndarray, shape (M, M)
        Mean empirical NTK.
    ntk_stderr : numpy.ndarray, shape (M, M)
        Its standard error.
    ntk_samples : numpy.ndarray, shape (S, M, M)
        The NTK of every network.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros((2, 2))
    >>> r = KernelMatrices(nngp=np.eye(2), nngp_stderr=z, ntk=2 * np.eye(2), ntk_stderr=z, ntk_samples=np.zeros((3, 2, 2)))
    >>> list(r), float(r["ntk"][1, 1])
    (['nngp', 'nngp_stderr', 'ntk', 'ntk_stderr', 'ntk_samples'], 2.0)
    """

    nngp: np.ndarray
    nngp_stderr: np.ndarray
    ntk: np.ndarray
    ntk_stderr: np.ndarray
    ntk_samples: np.ndarray


@dataclass(frozen=True)
class KernelEstimate(_Result):
    """E[f(x) f(y)] and NTK(x, y) with standard errors (``ntk`` is None for a ResNet).

    Parameters
    ----------
    nngp : float
        Mean of f(x) f(y) (ResNet: the covariance <h(x), h(y)> / N).
    nngp_stderr : float
        Its standard error.
    ntk : float or None
        Mean empirical NTK(x, y); ``None`` for a ResNet.
    ntk_stderr : float or None
        Its standard error; ``None`` for a ResNet.

    Examples
    --------
    >>> r = KernelEstimate(nngp=0.5, nngp_stderr=0.01, ntk=None, ntk_stderr=None)
    >>> r["nngp"], len(r), r.to_dict()["ntk"] is None
    (0.5, 4, True)
    """

    nngp: float
    nngp_stderr: float
    ntk: float | None
    ntk_stderr: float | None


@dataclass(frozen=True)
class FourPointEstimate(_Result):
    """Connected 4-point function ``m4 - 3 m2^2`` with its delta-method stderr, the raw moments, and N.

    Parameters
    ----------
    value : float
        m4 - 3 m2^2.
    stderr : float
        Its delta-method standard error.
    m2 : float
        Mean of f(x)^2 over the networks.
    m4 : float
        Mean of f(x)^4 over the networks.
    N : int
        Hidden width.

    Examples
    --------
    >>> r = FourPointEstimate(value=1.5, stderr=0.1, m2=1.0, m4=4.5, N=4)
    >>> r.value == r.m4 - 3 * r.m2**2, r["N"]
    (True, 4)
    """

    value: float
    stderr: float
    m2: float
    m4: float
    N: int


@dataclass(frozen=True)
class ResNetCovarianceEstimate(_Result):
    """<h_(L+1)(x), h_(L+1)(y)> / N with its stderr, at width N and depth L.

    Parameters
    ----------
    value : float
        Mean over the networks.
    stderr : float
        Its standard error.
    N : int
        Width.
    L : int
        Depth (number of residual blocks).

    Examples
    --------
    >>> dict(ResNetCovarianceEstimate(value=2.25, stderr=0.05, N=64, L=2))
    {'value': 2.25, 'stderr': 0.05, 'N': 64, 'L': 2}
    """

    value: float
    stderr: float
    N: int
    L: int


@dataclass(frozen=True, eq=False)
class JacobianMomentsEstimate(_Result):
    """Moments (1/N) tr[(J J^*)^k], k = 1..kmax, with stderrs; pooled eigenvalues when asked for.

    Parameters
    ----------
    moments : list of float
        Mean of (1/N) tr[(J J^*)^k] over the networks, k = 1..kmax.
    stderr : list of float
        Their standard errors.
    N : int
        Width d = N = n_out.
    samples : int
        Networks drawn.
    q_in : float
        |x|^2 / N of the input.
    kmax : int
        Highest moment.
    eigenvalues : numpy.ndarray, optional
        The eigenvalues of J J^* of every network, pooled; left out of the keys while ``None``.

    Examples
    --------
    >>> r = JacobianMomentsEstimate(moments=[1.0, 3.0], stderr=[0.1, 0.2], N=8, samples=10, q_in=1.0, kmax=2)
    >>> "eigenvalues" in r, len(r), r.eigenvalues is None
    (False, 6, True)
    """

    moments: list
    stderr: list
    N: int
    samples: int
    q_in: float
    kmax: int
    eigenvalues: np.ndarray | None = field(default=None, metadata={"optional": True})


@dataclass(frozen=True)
class HessianNormEstimate(_Result):
    """Mean spectral norm of the Hessian over networks, its stderr, every value, m, N and iterations used.

    Parameters
    ----------
    value : float
        Mean spectral norm of the Hessian of f(x) wrt all weights and biases.
    stderr : float
        Its standard error.
    values : list of float
        The norm of every network.
    m : int or None
        Neuron in-degree width of CONVENTIONS.md (``None`` where undefined).
    N : int
        Hidden width.
    iterations : int
        Power iterations run.

    Examples
    --------
    >>> r = HessianNormEstimate(value=0.5, stderr=0.1, values=[0.4, 0.6], m=4, N=4, iterations=12)
    >>> r["values"], r.get("iterations")
    ([0.4, 0.6], 12)
    """

    value: float
    stderr: float
    values: list
    m: int | None
    N: int
    iterations: int


@dataclass(frozen=True)
class NTKDriftEstimate(_Result):
    """Mean relative NTK change after gradient descent, its stderr, m and N.

    Parameters
    ----------
    value : float
        Mean of ||Theta_T - Theta_0||_F / ||Theta_0||_F over the networks.
    stderr : float
        Its standard error.
    m : int or None
        Neuron in-degree width of CONVENTIONS.md (``None`` where undefined).
    N : int
        Hidden width.

    Examples
    --------
    >>> r = NTKDriftEstimate(value=0.02, stderr=0.001, m=16, N=16)
    >>> list(r.items())
    [('value', 0.02), ('stderr', 0.001), ('m', 16), ('N', 16)]
    """

    value: float
    stderr: float
    m: int | None
    N: int
