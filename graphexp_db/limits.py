"""Infinite-width limits (facade): NNGP/NTK kernels, the ResNet ODE limit, the Jacobian spectrum.

The code lives in :mod:`graphexp_db.kernels` (NNGP/NTK matrices, exact rational kernels),
:mod:`graphexp_db.jacobian` (moments, density, atom and edge of the limiting law of ``J J^T``)
and :mod:`graphexp_db.noncrossing` (non-crossing partitions); this module re-exports their
public names, so ``from graphexp_db.limits import kernels`` keeps working.

Examples
--------
>>> from fractions import Fraction as F
>>> nngp_exact("mlp:L=2,sw=1,sb=0", "identity", [1, 0], [F(1, 2), 1])   # linear: x.y/d
Fraction(1, 4)
>>> [round(m, 10) for m in jacobian_moments("mlp:L=1", "identity", 1.0, 3)]
[1.0, 3.0, 12.0]
"""

from __future__ import annotations

from .gaussian import LimitError, gaussian_moment_exact
from .jacobian import jacobian_atom, jacobian_density, jacobian_edge, jacobian_moments, jacobian_q
from .kernels import (
    KernelResult,
    kernels,
    nngp_exact,
    nngp_limit,
    ntk_exact,
    ntk_limit,
    resnet_covariance,
    resnet_depth_convergence,
)
from .noncrossing import count_noncrossing, fuss_catalan, iter_noncrossing

__all__ = [
    "LimitError",
    "KernelResult",
    "gaussian_moment_exact",
    "kernels",
    "nngp_limit",
    "ntk_limit",
    "nngp_exact",
    "ntk_exact",
    "resnet_covariance",
    "resnet_depth_convergence",
    "jacobian_q",
    "jacobian_moments",
    "jacobian_density",
    "jacobian_atom",
    "jacobian_edge",
    "fuss_catalan",
    "iter_noncrossing",
    "count_noncrossing",
]
