"""Monte Carlo estimators at finite width: kernels, NTK, the connected 4-point function, the ResNet
covariance, Jacobian moments, the Hessian spectral norm and the NTK drift under gradient descent.

Every estimator takes an integer ``seed`` and an array namespace ``xp`` (from
:func:`graphexp_db.backend.get_xp`), draws ``samples`` independent networks in batches with
``xp.random.default_rng(seed)``, and returns a frozen result of :mod:`.results` (a read-only mapping, so
``r["nngp"]`` and ``dict(r)`` work as they did when results were dicts) of host floats with
standard errors (sample standard deviation / sqrt(samples)).

Examples
--------
>>> r = kernel_estimate("mlp:L=1,sw=1,sb=0", "identity", [1.0, 0.0], [1.0, 0.0], N=8, samples=400, seed=0)
>>> abs(r["nngp"] - 0.5) < 4 * r["nngp_stderr"]          # identity: K = |x|^2 / d
True
>>> r.nngp == r["nngp"] and list(r) == ["nngp", "nngp_stderr", "ntk", "ntk_stderr"]
True
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from ..activations import REGISTRY
from ..spec import MLPSpec, ResNetSpec, parse_activation, parse_arch, parse_ensemble
from .networks import (
    LayerNet,
    MonteCarloError,
    _bcast,
    _check_overflow,
    _check_positive,
    _dot,
    _dphi,
    _phi,
    _to_host,
    hessian_vp,
    init_params,
    layer_net,
    min_in_degree,
    ntk_matrix,
    output_fn,
    param_gradient,
    sample_weights,
)
from .results import (
    FourPointEstimate,
    HessianNormEstimate,
    JacobianMomentsEstimate,
    KernelEstimate,
    KernelMatrices,
    NTKDriftEstimate,
    ResNetCovarianceEstimate,
)
from .stats import _stderr, mean_stderr

__all__ = [
    "KernelMatrices",
    "KernelEstimate",
    "FourPointEstimate",
    "ResNetCovarianceEstimate",
    "JacobianMomentsEstimate",
    "HessianNormEstimate",
    "NTKDriftEstimate",
    "KINKED_ACTIVATIONS",
    "kernel_matrices",
    "kernel_estimate",
    "fourpoint_estimate",
    "resnet_covariance_estimate",
    "jacobian_moments_estimate",
    "hessian_norm",
    "ntk_drift",
]

#: activations whose second derivative is a distribution (a Dirac delta at the kink): no Hessian
KINKED_ACTIVATIONS = tuple(n for n, a in REGISTRY.items() if a.kinked)


# =========================================================================== estimators
def kernel_matrices(spec, act, X, *, N: int, samples: int, seed: int = 0, xp: ModuleType = np,
                    ensemble="gaussian", batch: int | None = None) -> KernelMatrices:
    """Empirical NNGP f(x_i) f(x_j) and NTK matrices over ``samples`` networks: means and stderrs (M, M), host arrays.


    >>> r = kernel_matrices("mlp:L=1", "tanh", [[1.0, 0.0], [0.0, 1.0]], N=8, samples=4, seed=0)
    >>> r.nngp.shape, r.ntk_stderr.shape, r.ntk_samples.shape
    ((2, 2), (2, 2), (4, 2, 2))
    """
    _check_samples(samples)
    net = layer_net(spec, N, np.asarray(X).shape[-1])
    act = parse_activation(act)
    rng = xp.random.default_rng(seed)
    Xd = xp.asarray(np.asarray(X, dtype=float))
    batch = batch or _batch_size(net, Xd.shape[0])
    nngp, ntk = [], []
    with np.errstate(all="ignore"):
        for S in _batches(samples, batch):
            params = init_params(net, S, rng, xp, ensemble)
            f = output_fn(net, params, Xd, act, xp)
            _check_overflow(f, xp)
            nngp.append(f[:, :, None] * f[:, None, :])
            t = ntk_matrix(net, params, Xd, act, xp)
            _check_overflow(t, xp)
            ntk.append(t)
    nngp = xp.concatenate(nngp)
    ntk = xp.concatenate(ntk)
    return KernelMatrices(nngp=_to_host(xp.mean(nngp, axis=0)), nngp_stderr=_to_host(_stderr(nngp, xp)),
                          ntk=_to_host(xp.mean(ntk, axis=0)), ntk_stderr=_to_host(_stderr(ntk, xp)),
                          ntk_samples=_to_host(ntk))


def kernel_estimate(spec, act, x, y, *, N: int, samples: int, seed: int = 0, xp: ModuleType = np,
                    ensemble="gaussian") -> KernelEstimate:
    """E[f(x) f(y)] and NTK(x, y) at width N with standard errors (ResNet: covariance C_L, NTK None).

    Returns ``{"nngp", "nngp_stderr", "ntk", "ntk_stderr"}`` as floats.

    Parameters
    ----------
    spec : str or spec
        ``mlp:...``, a layer DAG, or ``resnet:L=..`` (covariance C_L only).
    act : str or Activation
    x, y : sequences of float
        Two inputs of the same dimension d.
    N : int
        Hidden width.
    samples : int
        Independent networks (>= 2).
    seed : int
    xp : module
        ``numpy`` or ``cupy``.
    ensemble : str
        Weight ensemble (CONVENTIONS.md).

    Returns
    -------
    KernelEstimate

    Examples
    --------
    >>> r = kernel_estimate("resnet:L=2", "tanh", [1.0], [1.0], N=8, samples=3)
    >>> r.ntk is None and r.nngp > 0
    True
    """
    spec = parse_arch(spec)
    if isinstance(spec, ResNetSpec):
        c = resnet_covariance_estimate(spec, act, x, y, N=N, samples=samples, seed=seed, xp=xp, ensemble=ensemble)
        return KernelEstimate(nngp=c.value, nngp_stderr=c.stderr, ntk=None, ntk_stderr=None)
    X = _pair(x, y)
    r = kernel_matrices(spec, act, X, N=N, samples=samples, seed=seed, xp=xp, ensemble=ensemble)
    return KernelEstimate(nngp=float(r.nngp[0, 1]), nngp_stderr=float(r.nngp_stderr[0, 1]),
                          ntk=float(r.ntk[0, 1]), ntk_stderr=float(r.ntk_stderr[0, 1]))


def fourpoint_estimate(spec, act, x, *, N: int, samples: int, seed: int = 0, xp: ModuleType = np,
                       ensemble="gaussian") -> FourPointEstimate:
    """Connected 4-point function E[f(x)^4] - 3 E[f(x)^2]^2 (scalar output) with a delta-method stderr.

    Compare ``N * value`` with the 1/N coefficient of :func:`graphexp_db.finite.fourpoint_series`.

    >>> r = fourpoint_estimate("mlp:L=1", "identity", [1.0, 1.0], N=4, samples=20000, seed=0)
    >>> abs(r.value - 6 / 4) < 4 * r.stderr          # exactly 6/N for this net (finite.fourpoint_series)
    True
    """
    _check_samples(samples)
    spec = parse_arch(spec)
    xv = np.asarray(x, dtype=float)[None, :]
    net = layer_net(spec, N, xv.shape[1])
    rng = xp.random.default_rng(seed)
    fs = []
    with np.errstate(all="ignore"):
        for S in _batches(samples, _batch_size(net, 1)):
            f = output_fn(net, init_params(net, S, rng, xp, ensemble), xp.asarray(xv), act, xp)[:, 0]
            _check_overflow(f, xp)
            fs.append(f)
    f = _to_host(xp.concatenate(fs))
    m2, m4 = float(np.mean(f**2)), float(np.mean(f**4))
    # influence function of m4 - 3 m2^2: f^4 - 6 m2 f^2
    infl = f**4 - 6 * m2 * f**2
    return FourPointEstimate(value=m4 - 3 * m2**2, stderr=float(np.std(infl, ddof=1) / math.sqrt(len(f))),
                             m2=m2, m4=m4, N=N)


def resnet_covariance_estimate(spec, act, x, y, *, N: int, samples: int, seed: int = 0, L: int | None = None,
                               xp: ModuleType = np, ensemble="gaussian", batch: int | None = None) -> ResNetCovarianceEstimate:
    """<h_(L+1)(x), h_(L+1)(y)> / N for ResNet(L) with 1/sqrt(L) branches (CONVENTIONS.md), mean and stderr.

    >>> r = resnet_covariance_estimate("resnet:L=2,sw=1", "identity", [1.0], [1.0], N=64, samples=50, seed=1)
    >>> abs(r["value"] - 2.25) < 4 * r["stderr"]      # identity: C = (1 + 1/L)^L
    True
    """
    spec = parse_arch(spec)
    if not isinstance(spec, ResNetSpec):
        raise MonteCarloError(f"resnet covariance needs a resnet spec, got {spec.kind}")
    L = spec.L if L is None else L
    if L is None:
        raise MonteCarloError("resnet:L=inf is the ODE limit; Monte Carlo needs a finite depth L")
    _check_positive(L, "depth L")
    _check_positive(N, "width N")
    _check_samples(samples)
    act = parse_activation(act)
    X = xp.asarray(_pair(x, y))
    d = X.shape[1]
    sw = float(spec.sw)
    rng = xp.random.default_rng(seed)
    batch = batch or max(1, min(samples, int(2**24 // max(N * N, 1))))
    vals = []
    with np.errstate(all="ignore"):
        for S in _batches(samples, batch):
            W1 = sample_weights(ensemble, (S, N, d), rng, xp)
            h = sw * xp.matmul(xp.broadcast_to(X, (S, 2, d)), xp.swapaxes(W1, 1, 2)) / math.sqrt(d)
            for _ in range(L):
                W = sample_weights(ensemble, (S, N, N), rng, xp)
                h = h + (sw / math.sqrt(L * N)) * xp.matmul(_phi(act, h, xp), xp.swapaxes(W, 1, 2))
            _check_overflow(h, xp)
            vals.append(xp.real(xp.sum(h[:, 0, :] * xp.conj(h[:, 1, :]), axis=1)) / N)
    v = _to_host(xp.concatenate(vals))
    value, stderr = mean_stderr(v)
    return ResNetCovarianceEstimate(value=value, stderr=stderr, N=N, L=L)


def jacobian_moments_estimate(spec, act, *, q_in: float, N: int, samples: int, kmax: int, seed: int = 0,
                              xp: ModuleType = np, ensemble="gaussian", batch: int | None = None,
                              eigenvalues: bool = False) -> JacobianMomentsEstimate:
    """Moments (1/N) tr[(J J^*)^k], k = 1..kmax, of the input-output Jacobian of a square MLP (d = N = n_out).

    The input has |x|^2 = q_in N exactly.  Traces come from matrix powers (tr G^(a+b) = sum G^a * G^b,
    G Hermitian), so the work is matrix products; ``eigenvalues=True`` also returns the pooled
    eigenvalues of J J^*.

    >>> r = jacobian_moments_estimate("mlp:L=1,sw=1", "identity", q_in=1.0, N=64, samples=20, kmax=2, seed=0)
    >>> [abs(m - c) < 5 * e + 0.1 for m, c, e in zip(r["moments"], [1, 3], r["stderr"])]   # Fuss-Catalan_2
    [True, True]
    """
    spec = parse_arch(spec)
    if not isinstance(spec, MLPSpec):
        raise MonteCarloError("the Jacobian J = df/dx is defined here for square MLPs (d = N = n_out)")
    _check_positive(N, "width N")
    _check_samples(samples)
    if kmax < 1:
        raise MonteCarloError(f"kmax must be >= 1, got {kmax}")
    if q_in <= 0 or not math.isfinite(q_in):
        raise MonteCarloError(f"q_in must be > 0, got {q_in}")
    act = parse_activation(act)
    ens = parse_ensemble(ensemble)
    if ens.is_complex and act.name != "identity":
        raise MonteCarloError("the complex ensemble is for trace words: use --activation identity")
    sw, sb, L = float(spec.sw), float(spec.sb), spec.L
    rng = xp.random.default_rng(seed)
    batch = batch or max(1, min(samples, int(2**23 // (N * N))))
    c = sw / math.sqrt(N)
    half = (kmax + 1) // 2
    per_sample, eigs = [], []
    with np.errstate(all="ignore"):
        for S in _batches(samples, batch):
            x = rng.standard_normal((S, N, 1))
            x = x * math.sqrt(q_in * N) / xp.sqrt(xp.sum(x * x, axis=1, keepdims=True))
            J = None
            h = None
            for layer in range(L + 1):
                W = sample_weights(ens, (S, N, N), rng, xp)
                if layer == 0:
                    h = c * xp.matmul(W, x)
                    J = c * W
                else:
                    a = _phi(act, h, xp)
                    # J <- (c W) D J with D = diag(phi'(h)): scale rows of J
                    J = c * xp.matmul(W, _dphi(act, h, xp) * J)
                    h = c * xp.matmul(W, a)
                if sb:
                    h = h + sb * sample_weights(ens, (S, N, 1), rng, xp)
            _check_overflow(J, xp)
            G = xp.matmul(J, xp.conj(xp.swapaxes(J, 1, 2)))
            powers = [G]
            for _ in range(half - 1):
                powers.append(xp.matmul(powers[-1], G))
            mk = []
            for k in range(1, kmax + 1):
                a_, b_ = (k + 1) // 2, k // 2
                if b_ == 0:
                    mk.append(xp.real(xp.trace(G, axis1=1, axis2=2)))
                else:
                    mk.append(xp.real(xp.sum(powers[a_ - 1] * xp.conj(powers[b_ - 1]), axis=(1, 2))))
            per_sample.append(xp.stack(mk, axis=1) / N)
            if eigenvalues:
                eigs.append(_to_host(xp.linalg.eigvalsh(G)).ravel())
    m = _to_host(xp.concatenate(per_sample))
    _check_overflow(m, np)
    return JacobianMomentsEstimate(moments=np.mean(m, axis=0).tolist(),
                                   stderr=(np.std(m, axis=0, ddof=1) / math.sqrt(len(m))).tolist(),
                                   N=N, samples=samples, q_in=q_in, kmax=kmax,
                                   eigenvalues=np.concatenate(eigs) if eigenvalues else None)


def hessian_norm(spec, act, x, *, N: int, samples: int = 4, seed: int = 0, iters: int = 200, tol: float = 1e-6,
                 xp: ModuleType = np, ensemble="gaussian") -> HessianNormEstimate:
    """Spectral norm of the Hessian of f(x) wrt all weights and biases at initialisation (NTK parametrisation).

    Power iteration on Hessian-vector products, ``samples`` networks in one batch; the norm is
    |H v| for the iterated unit vector v (power iteration on H^2).  Returns the mean over networks, its stderr, and ``m``.

    Activations with a kink (relu) are refused with a :class:`MonteCarloError`: phi'' is a Dirac
    delta there, so the Hessian is a distribution, not a matrix with a spectral norm, and a
    finite-difference estimate would only measure its step size (it gave 260 +- 260 for relu).

    >>> try:
    ...     hessian_norm("mlp:L=1", "relu", [1.0, 1.0], N=4)
    ... except MonteCarloError as err:
    ...     print(str(err)[:63])
    the Hessian of a relu network is not defined: relu'' is a Dirac
    >>> r = hessian_norm("mlp:L=1", "tanh", [1.0, 1.0], N=4, samples=2)
    >>> r.m, r.N, len(r.values)
    (4, 4, 2)
    """
    _check_samples(samples)
    _check_smooth(act)
    spec = parse_arch(spec)
    xv = np.asarray(x, dtype=float)
    net = layer_net(spec, N, xv.size)
    rng = xp.random.default_rng(seed)
    params = init_params(net, samples, rng, xp, ensemble)
    v = [rng.standard_normal(p.shape) for p in params]
    lam = xp.zeros(samples)
    with np.errstate(all="ignore"):
        _check_overflow(output_fn(net, params, xp.asarray(xv[None, :]), act, xp), xp)
        for it in range(iters):
            nv = xp.sqrt(_dot(v, v, xp))
            v = [w / _bcast(nv, w, xp) for w in v]
            v = hessian_vp(net, params, xv, act, v, xp)
            # |H v| for unit v increases to ||H||_2 (power iteration on H^2), also when +lambda and
            # -lambda are both extreme, where the Rayleigh quotient v.Hv would oscillate around 0
            new = xp.sqrt(_dot(v, v, xp))
            if it > 3 and float(xp.max(xp.abs(new - lam) / xp.maximum(new, 1e-300))) < tol:
                lam = new
                break
            lam = new
    vals = np.abs(_to_host(lam))
    _check_overflow(vals, np)
    value, stderr = mean_stderr(vals)
    return HessianNormEstimate(value=value, stderr=stderr, values=vals.tolist(), m=min_in_degree(net), N=N,
                               iterations=it + 1)


def ntk_drift(spec, act, *, N: int, samples: int = 4, seed: int = 0, steps: int = 10, lr: float = 0.5,
              n_train: int = 8, d: int = 4, xp: ModuleType = np, ensemble="gaussian") -> NTKDriftEstimate:
    """Relative change ||Theta_T - Theta_0||_F / ||Theta_0||_F of the NTK on the training inputs after
    ``steps`` of full-batch gradient descent on 1/2 sum (f(x_i) - y_i)^2 with step ``lr / lambda_max(Theta_0)``.

    >>> r = ntk_drift("mlp:L=1", "tanh", N=16, samples=2, steps=2)
    >>> 0 < r.value < 1, r.m
    (True, 16)
    """
    _check_samples(samples)
    spec = parse_arch(spec)
    net = layer_net(spec, N, d)
    rng = xp.random.default_rng(seed)
    data = np.random.default_rng(12345)  # the task is the same for every width and seed
    X = data.standard_normal((n_train, d))
    X = X / np.linalg.norm(X, axis=1, keepdims=True) * math.sqrt(d)
    y = np.sin(X.sum(axis=1))
    Xd, yd = xp.asarray(X), xp.asarray(y)
    params = init_params(net, samples, rng, xp, ensemble)
    with np.errstate(all="ignore"):
        t0 = ntk_matrix(net, params, Xd, act, xp)
        lam = xp.asarray(np.linalg.eigvalsh(_to_host(t0))[:, -1])
        for _ in range(steps):
            r = output_fn(net, params, Xd, act, xp) - yd[None, :]
            g = param_gradient(net, params, Xd, act, seed=r, xp=xp)
            params = [p - _bcast(lr / lam, p, xp) * gi for p, gi in zip(params, g)]
        t1 = ntk_matrix(net, params, Xd, act, xp)
    _check_overflow(t1, xp)
    rel = _to_host(xp.sqrt(xp.sum((t1 - t0) ** 2, axis=(1, 2)) / xp.sum(t0**2, axis=(1, 2))))
    value, stderr = mean_stderr(rel)
    return NTKDriftEstimate(value=value, stderr=stderr, m=min_in_degree(net), N=N)


# =========================================================================== helpers
def _check_samples(samples) -> None:
    if not isinstance(samples, (int, np.integer)) or samples < 2:
        raise MonteCarloError(f"samples must be an integer >= 2 (a standard error needs two), got {samples}")


def _batches(total: int, batch: int):
    done = 0
    while done < total:
        s = min(batch, total - done)
        yield s
        done += s


def _batch_size(net: LayerNet, M: int) -> int:
    per = net.n_params + 4 * M * sum(net.widths)
    return max(1, int(2**23 // max(per, 1)))


def _pair(x, y) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise MonteCarloError(f"inputs of different dimension: x has {x.size}, y has {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise MonteCarloError("inputs contain NaN or inf")
    return np.stack([x, y])




def _check_smooth(act) -> None:
    """Refuse activations with a kink: their Hessian is not a function (see :func:`hessian_norm`)."""
    act = parse_activation(act)
    if act.name in KINKED_ACTIVATIONS:
        raise MonteCarloError(
            f"the Hessian of a {act.name} network is not defined: {act.name}'' is a Dirac delta at the kink (a distribution), "
            "so a finite-difference Hessian norm only measures the step size; use a smooth activation "
            "(tanh, erf, sin, gelu, identity or poly:...)")
