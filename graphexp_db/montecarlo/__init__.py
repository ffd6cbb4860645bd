"""Monte Carlo at finite width on NumPy or CuPy (one code path): kernels, NTK, Jacobian spectra,
4-point function, Hessian spectral norm.

The package is three modules, re-exported here so ``from graphexp_db.montecarlo import X`` works:

* :mod:`~graphexp_db.montecarlo.networks`: layer DAGs with widths, weight ensembles, forward and
  backward passes, gradients, the empirical NTK, Hessian-vector products;
* :mod:`~graphexp_db.montecarlo.estimators`: the estimators, each returning a frozen result type;
* :mod:`~graphexp_db.montecarlo.stats`: standard errors, power-law fits, per-task seeds.

The studies of seeds 002 and 003 (ntk-rate, universality, commutativity, linearity) are sweeps over
these estimators and live one layer up, in :mod:`graphexp_db.studies` (the one caller of
:mod:`graphexp_db.distributed`); their old names here still resolve, lazily, so this package never
imports the studies layer.  Figures are in :mod:`graphexp_db.plots`.

Examples
--------
>>> r = kernel_estimate("mlp:L=1,sw=1,sb=0", "identity", [1.0, 0.0], [1.0, 0.0], N=8, samples=400, seed=0)
>>> abs(r["nngp"] - 0.5) < 4 * r["nngp_stderr"]          # identity: K = |x|^2 / d
True
>>> fit_power_law([1, 4, 16], [1.0, 0.5, 0.25])["slope"]   # a planted power law N^(-1/2)
-0.5

References
----------
arXiv:2407.08459 (graph expansions), arXiv:2310.01683 (commutative width/depth scaling),
arXiv:2205.11786 (transition to linearity on DAGs).
"""

from __future__ import annotations

from .estimators import (
    KINKED_ACTIVATIONS,
    FourPointEstimate,
    HessianNormEstimate,
    JacobianMomentsEstimate,
    KernelEstimate,
    KernelMatrices,
    NTKDriftEstimate,
    ResNetCovarianceEstimate,
    fourpoint_estimate,
    hessian_norm,
    jacobian_moments_estimate,
    kernel_estimate,
    kernel_matrices,
    ntk_drift,
    resnet_covariance_estimate,
)
from .networks import (
    OVERFLOW,
    LayerNet,
    MonteCarloError,
    backward,
    forward,
    hessian_vp,
    init_params,
    layer_net,
    min_in_degree,
    ntk_matrix,
    output_fn,
    param_gradient,
    sample_weights,
)
from .stats import fit_power_law, mean_stderr, task_seed

__all__ = [
    "OVERFLOW",
    "KINKED_ACTIVATIONS",
    "MonteCarloError",
    "LayerNet",
    "layer_net",
    "min_in_degree",
    "sample_weights",
    "init_params",
    "forward",
    "backward",
    "output_fn",
    "param_gradient",
    "ntk_matrix",
    "KernelMatrices",
    "KernelEstimate",
    "FourPointEstimate",
    "ResNetCovarianceEstimate",
    "JacobianMomentsEstimate",
    "HessianNormEstimate",
    "NTKDriftEstimate",
    "kernel_estimate",
    "kernel_matrices",
    "fourpoint_estimate",
    "resnet_covariance_estimate",
    "jacobian_moments_estimate",
    "hessian_vp",
    "hessian_norm",
    "ntk_drift",
    "fit_power_law",
    "mean_stderr",
    "task_seed",
]

# The studies moved up a layer (graphexp_db.studies); their old names still work here.  Resolving
# them on first use (PEP 562) keeps the dependency one-way: montecarlo never imports studies.
_STUDIES = ("ntk_rate", "universality", "commutativity", "linearity")


def __getattr__(name: str):
    if name in _STUDIES:
        from .. import studies

        return getattr(studies, name)
    raise AttributeError(f"module 'graphexp_db.montecarlo' has no attribute {name!r}")
