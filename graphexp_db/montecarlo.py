"""Monte Carlo at finite width on NumPy or CuPy (one code path): kernels, NTK, Jacobian spectra,
4-point function, Hessian spectral norm, and the studies of seeds 002 and 003.

Every network follows CONVENTIONS.md.  MLPs are run as chain DAGs (``0 -> 1 -> ... -> L+1``), so
one hand-written forward/backward pass serves MLPs and layer DAGs; ResNets (1/sqrt(L) branches,
no readout) have their own forward pass.  All estimators take an integer ``seed`` and an array
namespace ``xp`` (from :func:`graphexp_db.backend.get_xp`), draw ``samples`` independent networks in
batches with ``xp.random.default_rng(seed)``, and return host floats with standard errors
(sample standard deviation / sqrt(samples)).

Examples
--------
>>> import numpy as np
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

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .spec import DagSpec, MLPSpec, ResNetSpec, SpecError, parse_activation, parse_arch, parse_ensemble

__all__ = [
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
    "kernel_estimate",
    "kernel_matrices",
    "fourpoint_estimate",
    "resnet_covariance_estimate",
    "jacobian_moments_estimate",
    "hessian_vp",
    "hessian_norm",
    "ntk_drift",
    "fit_power_law",
    "task_seed",
    "ntk_rate",
    "universality",
    "commutativity",
    "linearity",
]

#: preactivations beyond this size mean an unstable sw (reported, never stored)
OVERFLOW = 1e100


class MonteCarloError(SpecError):
    """Bad Monte Carlo input or an unstable run (overflow); one line for the user."""


# =========================================================================== networks
@dataclass(frozen=True)
class LayerNet:
    """A layer DAG with widths: node 0 the input (width d), the sink the scalar output.

    ``parents[v]`` lists the nodes feeding ``v``; ``order`` is topological (0 first, sink last).
    """

    parents: tuple[tuple[int, ...], ...]
    widths: tuple[int, ...]
    order: tuple[int, ...]
    sw: float
    sb: float

    @property
    def sink(self) -> int:
        return self.order[-1]

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        return tuple((u, v) for v in self.order[1:] for u in self.parents[v])

    def scale(self, u: int, v: int) -> float:
        """sw / sqrt(width_u * |in(v)|) (CONVENTIONS.md, layer DAG)."""
        return self.sw / math.sqrt(self.widths[u] * len(self.parents[v]))

    @property
    def n_params(self) -> int:
        return sum(self.widths[u] * self.widths[v] for u, v in self.edges) + sum(self.widths[v] for v in self.order[1:])


def layer_net(spec, N: int, d: int, n_out: int = 1) -> LayerNet:
    """The :class:`LayerNet` of an MLP or DAG spec with hidden width ``N`` and input width ``d``.

    >>> net = layer_net("mlp:L=2,sw=1.5,sb=0.1", N=4, d=3)
    >>> net.widths, net.edges, net.n_params
    ((3, 4, 4, 1), ((0, 1), (1, 2), (2, 3)), 41)
    """
    spec = parse_arch(spec)
    _check_positive(N, "width N")
    _check_positive(d, "input dimension d")
    if isinstance(spec, MLPSpec):
        nodes = spec.L + 2
        parents = tuple(() if v == 0 else (v - 1,) for v in range(nodes))
        order = tuple(range(nodes))
    elif isinstance(spec, DagSpec):
        nodes = spec.n_nodes
        parents = tuple(spec.parents(v) for v in range(nodes))
        order = spec.order
    else:
        raise MonteCarloError("a ResNet (no readout, no biases) is simulated by resnet_covariance_estimate, not as a layer DAG")
    widths = [N] * nodes
    widths[0] = d
    widths[order[-1]] = n_out
    return LayerNet(parents, tuple(widths), order, float(spec.sw), float(spec.sb))


def min_in_degree(net: LayerNet) -> int | None:
    """Neuron in-degree m of CONVENTIONS.md: min of sum_{u in in(v)} width_u over nodes not fed only by the input.

    >>> min_in_degree(layer_net('{"kind":"dag","edges":[[0,1],[0,2],[1,2]]}', N=16, d=3))
    19
    """
    vals = [sum(net.widths[u] for u in net.parents[v]) for v in net.order[1:] if set(net.parents[v]) != {0}]
    return min(vals) if vals else None


def sample_weights(ensemble, shape, rng, xp: ModuleType = np):
    """i.i.d. unit-variance entries of ``ensemble`` (CONVENTIONS.md) with the generator ``rng``.

    >>> rng = np.random.default_rng(0)
    >>> w = sample_weights("rademacher", (1000,), rng)
    >>> sorted(set(w.tolist()))
    [-1.0, 1.0]
    >>> abs(float(np.mean(sample_weights("sparse:1/4", (200000,), rng) ** 2)) - 1) < 0.02
    True
    """
    ens = parse_ensemble(ensemble)
    if ens.name == "gaussian":
        return rng.standard_normal(shape)
    if ens.name == "complex":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)
    if ens.name == "rademacher":
        return 2.0 * (rng.random(shape) < 0.5) - 1.0
    if ens.name == "uniform":
        return math.sqrt(3) * (2.0 * rng.random(shape) - 1.0)
    p = float(ens.p)
    return (rng.random(shape) < p) * rng.standard_normal(shape) / math.sqrt(p)


def init_params(net: LayerNet, S: int, rng, xp: ModuleType = np, ensemble="gaussian") -> list:
    """Weights ``W_uv`` (S, width_v, width_u) for each edge, then biases ``b_v`` (S, width_v) for each node."""
    Ws = [sample_weights(ensemble, (S, net.widths[v], net.widths[u]), rng, xp) for u, v in net.edges]
    bs = [sample_weights(ensemble, (S, net.widths[v]), rng, xp) for v in net.order[1:]]
    return Ws + bs


def forward(net: LayerNet, params: list, X, act, xp: ModuleType = np) -> dict:
    """Preactivations ``h[v]`` (S, M, width_v) and activations ``a[v]`` for inputs ``X`` (M, d) or (S, M, d).

    The scalar output is ``h[net.sink][..., 0]``.
    """
    act = parse_activation(act)
    S = params[0].shape[0]
    X = xp.asarray(X)
    a = {0: xp.broadcast_to(X, (S,) + X.shape[-2:]) if X.ndim == 2 else X}
    h = {}
    E = len(net.edges)
    widx = {e: i for i, e in enumerate(net.edges)}
    for j, v in enumerate(net.order[1:]):
        acc = None
        for u in net.parents[v]:
            term = net.scale(u, v) * xp.matmul(a[u], xp.swapaxes(params[widx[(u, v)]], 1, 2))
            acc = term if acc is None else acc + term
        if net.sb:
            acc = acc + net.sb * params[E + j][:, None, :]
        h[v] = acc
        if v != net.sink:
            a[v] = _phi(act, acc, xp)
    return {"h": h, "a": a}


def backward(net: LayerNet, params: list, cache: dict, seed, act, xp: ModuleType = np) -> dict:
    """Deltas ``delta[v] = d(sum_i seed_i f(x_i)) / d h_v(x_i)`` (S, M, width_v), ``seed`` of shape (S, M)."""
    act = parse_activation(act)
    widx = {e: i for i, e in enumerate(net.edges)}
    delta = {net.sink: xp.asarray(seed)[..., None] * xp.ones_like(cache["h"][net.sink])}
    grad_in: dict[int, Any] = {}
    for v in reversed(net.order[1:]):
        if v != net.sink:
            delta[v] = _dphi(act, cache["h"][v], xp) * grad_in.pop(v)
        for u in net.parents[v]:
            if u == 0:
                continue
            g = net.scale(u, v) * xp.matmul(delta[v], params[widx[(u, v)]])
            grad_in[u] = g if u not in grad_in else grad_in[u] + g
    return delta


def output_fn(net: LayerNet, params: list, X, act, xp: ModuleType = np):
    """The scalar outputs f(x_i), shape (S, M)."""
    return forward(net, params, X, act, xp)["h"][net.sink][..., 0]


def param_gradient(net: LayerNet, params: list, X, act, seed=None, xp: ModuleType = np) -> list:
    """Exact gradient of ``sum_i seed_i f(x_i)`` with respect to every weight and bias (same layout as params)."""
    cache = forward(net, params, X, act, xp)
    S, M = cache["h"][net.sink].shape[:2]
    seed = xp.ones((S, M)) if seed is None else seed
    delta = backward(net, params, cache, seed, act, xp)
    gW = [net.scale(u, v) * xp.matmul(xp.swapaxes(delta[v], 1, 2), cache["a"][u]) for u, v in net.edges]
    gb = [net.sb * xp.sum(delta[v], axis=1) for v in net.order[1:]]
    return gW + gb


def ntk_matrix(net: LayerNet, params: list, X, act, xp: ModuleType = np):
    """Empirical NTK (S, M, M): sum over all parameters of df(x_i)/dtheta df(x_j)/dtheta.

    Uses grad W_uv(x) = c_uv delta_v(x) a_u(x)^T, so each edge contributes
    c_uv^2 (delta_v delta_v^T) * (a_u a_u^T) and each bias sb^2 delta_v delta_v^T; no gradient is
    materialised.
    """
    cache = forward(net, params, X, act, xp)
    S, M = cache["h"][net.sink].shape[:2]
    delta = backward(net, params, cache, xp.ones((S, M)), act, xp)
    gram_d = {v: xp.matmul(delta[v], xp.swapaxes(delta[v], 1, 2)) for v in net.order[1:]}
    out = xp.zeros((S, M, M))
    for u, v in net.edges:
        out = out + net.scale(u, v) ** 2 * gram_d[v] * xp.matmul(cache["a"][u], xp.swapaxes(cache["a"][u], 1, 2))
    for v in net.order[1:]:
        out = out + net.sb**2 * gram_d[v]
    return out


# =========================================================================== estimators
def kernel_matrices(spec, act, X, *, N: int, samples: int, seed: int = 0, xp: ModuleType = np,
                    ensemble="gaussian", batch: int | None = None) -> dict:
    """Empirical NNGP f(x_i) f(x_j) and NTK matrices over ``samples`` networks: means and stderrs (M, M), host arrays."""
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
    return {"nngp": _to_host(xp.mean(nngp, axis=0)), "nngp_stderr": _to_host(_stderr(nngp, xp)),
            "ntk": _to_host(xp.mean(ntk, axis=0)), "ntk_stderr": _to_host(_stderr(ntk, xp)),
            "ntk_samples": _to_host(ntk)}


def kernel_estimate(spec, act, x, y, *, N: int, samples: int, seed: int = 0, xp: ModuleType = np,
                    ensemble="gaussian") -> dict:
    """E[f(x) f(y)] and NTK(x, y) at width N with standard errors (ResNet: covariance C_L, NTK None).

    Returns ``{"nngp", "nngp_stderr", "ntk", "ntk_stderr"}`` as floats.
    """
    spec = parse_arch(spec)
    if isinstance(spec, ResNetSpec):
        r = resnet_covariance_estimate(spec, act, x, y, N=N, samples=samples, seed=seed, xp=xp, ensemble=ensemble)
        return {"nngp": r["value"], "nngp_stderr": r["stderr"], "ntk": None, "ntk_stderr": None}
    X = _pair(x, y)
    r = kernel_matrices(spec, act, X, N=N, samples=samples, seed=seed, xp=xp, ensemble=ensemble)
    return {"nngp": float(r["nngp"][0, 1]), "nngp_stderr": float(r["nngp_stderr"][0, 1]),
            "ntk": float(r["ntk"][0, 1]), "ntk_stderr": float(r["ntk_stderr"][0, 1])}


def fourpoint_estimate(spec, act, x, *, N: int, samples: int, seed: int = 0, xp: ModuleType = np,
                       ensemble="gaussian") -> dict:
    """Connected 4-point function E[f(x)^4] - 3 E[f(x)^2]^2 (scalar output) with a delta-method stderr.

    Compare ``N * value`` with the 1/N coefficient of :func:`graphexp_db.finite.fourpoint_series`.
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
    return {"value": m4 - 3 * m2**2, "stderr": float(np.std(infl, ddof=1) / math.sqrt(len(f))),
            "m2": m2, "m4": m4, "N": N}


def resnet_covariance_estimate(spec, act, x, y, *, N: int, samples: int, seed: int = 0, L: int | None = None,
                               xp: ModuleType = np, ensemble="gaussian", batch: int | None = None) -> dict:
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
    return {"value": float(np.mean(v)), "stderr": float(np.std(v, ddof=1) / math.sqrt(len(v))), "N": N, "L": L}


def jacobian_moments_estimate(spec, act, *, q_in: float, N: int, samples: int, kmax: int, seed: int = 0,
                              xp: ModuleType = np, ensemble="gaussian", batch: int | None = None,
                              eigenvalues: bool = False) -> dict:
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
    out = {"moments": np.mean(m, axis=0).tolist(), "stderr": (np.std(m, axis=0, ddof=1) / math.sqrt(len(m))).tolist(),
           "N": N, "samples": samples, "q_in": q_in, "kmax": kmax}
    if eigenvalues:
        out["eigenvalues"] = np.concatenate(eigs)
    return out


def hessian_vp(net: LayerNet, params: list, x, act, v: list, xp: ModuleType = np, eps: float = 1e-4) -> list:
    """Hessian-vector product of the scalar output f(x) wrt all parameters, per sample.

    A central difference of exact gradients, (g(theta + e v) - g(theta - e v)) / (2 e) with
    e = eps / |v| per sample: error O(e^2) (checked against a dense Hessian in the tests).
    """
    X = xp.asarray(np.asarray(x, dtype=float).reshape(1, -1))
    norm = xp.sqrt(_dot(v, v, xp))
    e = eps / xp.maximum(norm, 1e-300)

    def shift(sign):
        return [p + sign * _bcast(e, p, xp) * w for p, w in zip(params, v)]

    gp = param_gradient(net, shift(1.0), X, act, xp=xp)
    gm = param_gradient(net, shift(-1.0), X, act, xp=xp)
    return [(a - b) / (2 * _bcast(e, a, xp)) for a, b in zip(gp, gm)]


def hessian_norm(spec, act, x, *, N: int, samples: int = 4, seed: int = 0, iters: int = 200, tol: float = 1e-6,
                 xp: ModuleType = np, ensemble="gaussian") -> dict:
    """Spectral norm of the Hessian of f(x) wrt all weights and biases at initialisation (NTK parametrisation).

    Power iteration on Hessian-vector products, ``samples`` networks in one batch; the norm is
    |H v| for the iterated unit vector v (power iteration on H^2).  Returns the mean over networks, its stderr, and ``m``.
    """
    _check_samples(samples)
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
    return {"value": float(np.mean(vals)), "stderr": float(np.std(vals, ddof=1) / math.sqrt(len(vals))),
            "values": vals.tolist(), "m": min_in_degree(net), "N": N, "iterations": it + 1}


def ntk_drift(spec, act, *, N: int, samples: int = 4, seed: int = 0, steps: int = 10, lr: float = 0.5,
              n_train: int = 8, d: int = 4, xp: ModuleType = np, ensemble="gaussian") -> dict:
    """Relative change ||Theta_T - Theta_0||_F / ||Theta_0||_F of the NTK on the training inputs after
    ``steps`` of full-batch gradient descent on 1/2 sum (f(x_i) - y_i)^2 with step ``lr / lambda_max(Theta_0)``.
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
    return {"value": float(np.mean(rel)), "stderr": float(np.std(rel, ddof=1) / math.sqrt(len(rel))),
            "m": min_in_degree(net), "N": N}


# =========================================================================== fits and seeds
def fit_power_law(x, y, yerr=None, level: float = 0.95) -> dict:
    """Least-squares fit of log y = slope * log x + c, with a ``level`` confidence interval on the slope.

    With 3 or more points the interval is Student-t on the residuals (exact fits give a zero-width
    interval); with 2 points it comes from the propagated ``yerr`` (normal), or is the slope itself.

    >>> r = fit_power_law([32, 64, 128, 256], [2 * n ** -0.5 for n in (32, 64, 128, 256)])
    >>> round(r["slope"], 12), [round(c, 12) for c in r["slope_ci"]], round(r["prefactor"], 12)
    (-0.5, [-0.5, -0.5], 2.0)
    """
    from scipy import stats

    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if len(lx) < 2 or not (np.all(np.isfinite(lx)) and np.all(np.isfinite(ly))):
        raise MonteCarloError("a power-law fit needs at least 2 points with positive values")
    A = np.vstack([lx, np.ones_like(lx)]).T
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    slope, c = float(coef[0]), float(coef[1])
    n = len(lx)
    sxx = float(np.sum((lx - lx.mean()) ** 2))
    if n > 2:
        resid = ly - A @ coef
        se = math.sqrt(float(resid @ resid) / (n - 2) / sxx)
        half = float(stats.t.ppf(0.5 + level / 2, n - 2)) * se
    elif yerr is not None:
        sl = np.asarray(yerr, dtype=float) / np.asarray(y, dtype=float)
        se = math.sqrt(float(np.sum(sl**2))) / abs(lx[1] - lx[0])
        half = float(stats.norm.ppf(0.5 + level / 2)) * se
    else:
        half = 0.0
    return {"slope": slope, "slope_ci": [slope - half, slope + half], "prefactor": math.exp(c)}


def task_seed(seed: int, index: int) -> int:
    """Seed of task ``index`` of a sweep: SeedSequence(seed, spawn_key=(index,)), the same serial or on Dask.

    >>> task_seed(0, 3) == task_seed(0, 3) != task_seed(0, 4)
    True
    """
    return int(np.random.SeedSequence(int(seed), spawn_key=(int(index),)).generate_state(1, dtype=np.uint64)[0] >> 1)


# =========================================================================== studies
def _ntk_rate_task(task: dict) -> dict:
    from .backend import get_xp

    xp = get_xp(task["device"])
    r = kernel_matrices(task["arch"], task["activation"], np.asarray(task["X"]), N=task["N"], samples=task["samples"],
                        seed=task["seed"], xp=xp, ensemble=task["ensemble"])
    lim = np.asarray(task["limit"])
    err = np.sqrt(np.sum((r["ntk_samples"] - lim) ** 2, axis=(1, 2)))
    return {"N": task["N"], "error": float(np.mean(err)), "stderr": float(np.std(err, ddof=1) / math.sqrt(len(err)))}


def ntk_rate(spec, act, widths, *, samples: int = 8, seed: int = 0, X=None, ensemble="gaussian", device: str = "cpu",
             workers: int | None = None, scheduler: str | None = None, progress: bool = False, png: str | None = None) -> dict:
    """Frobenius error E||Theta_N - Theta_inf||_F over a set of inputs vs N, and its log-log slope (about -1/2)."""
    from .limits import kernels

    spec = parse_arch(spec)
    _check_widths(widths)
    X = _default_inputs() if X is None else np.asarray(X, dtype=float)
    lim = kernels(spec, act, X).ntk
    tasks = [dict(arch=str(spec), activation=str(parse_activation(act)), X=X.tolist(), N=int(n), samples=samples,
                  seed=task_seed(seed, i), ensemble=str(parse_ensemble(ensemble)), device=device, limit=lim.tolist())
             for i, n in enumerate(widths)]
    rows = _sweep(_ntk_rate_task, tasks, workers, scheduler, progress, "ntk-rate")
    fit = fit_power_law([r["N"] for r in rows], [r["error"] for r in rows], [r["stderr"] for r in rows])
    out = {"widths": [r["N"] for r in rows], "error": [r["error"] for r in rows], "stderr": [r["stderr"] for r in rows],
           **fit, "limit_ntk": lim.tolist()}
    if png:
        _plot_loglog(png, out["widths"], out["error"], out["stderr"], fit, "N", "|NTK_N - NTK_inf|_F", "NTK convergence")
    return out


def _universality_task(task: dict) -> dict:
    from .backend import get_xp

    xp = get_xp(task["device"])
    r = jacobian_moments_estimate(task["arch"], task["activation"], q_in=task["q_in"], N=task["N"], samples=task["samples"],
                                  kmax=task["kmax"], seed=task["seed"], xp=xp, ensemble=task["ensemble"])
    # subleading check on one matrix X = W / sqrt(N): (1/N) E tr[(X X^*)^2] = 2 + (m4 - 2)/N
    rng = xp.random.default_rng(task["seed"] + 1)
    N, S = task["N"], task["samples"]
    W = sample_weights(task["ensemble"], (S, N, N), rng, xp) / math.sqrt(N)
    G = xp.matmul(W, xp.conj(xp.swapaxes(W, 1, 2)))
    t2 = _to_host(xp.real(xp.sum(G * xp.conj(G), axis=(1, 2)))) / N
    return {"ensemble": task["ensemble"], "moments": r["moments"], "stderr": r["stderr"],
            "wishart_m2": float(np.mean(t2)), "wishart_m2_stderr": float(np.std(t2, ddof=1) / math.sqrt(S))}


def universality(spec, act, ensembles=("gaussian", "rademacher", "uniform", "sparse:1/2", "complex"), *, N: int = 128,
                 samples: int = 16, kmax: int = 4, q_in: float = 1.0, seed: int = 0, device: str = "cpu",
                 workers: int | None = None, scheduler: str | None = None, progress: bool = False) -> dict:
    """Jacobian moments per weight ensemble next to the limit (same for all), and the subleading term
    N * ((1/N) tr (X X^*)^2 - 2) against the exact m4 - 2 of each ensemble (CONVENTIONS.md)."""
    from .limits import jacobian_moments

    spec = parse_arch(spec)
    lim = [float(v) for v in jacobian_moments(spec, act, q_in, kmax)]
    tasks = []
    for i, e in enumerate(ensembles):
        ens = parse_ensemble(e)
        a = "identity" if ens.is_complex else str(parse_activation(act))
        tasks.append(dict(arch=str(spec), activation=a, q_in=q_in, N=N, samples=samples, kmax=kmax,
                          seed=task_seed(seed, i), ensemble=str(ens), device=device))
    rows = _sweep(_universality_task, tasks, workers, scheduler, progress, "universality")
    table = []
    for task, r in zip(tasks, rows):
        ens = parse_ensemble(task["ensemble"])
        limit = lim if task["activation"] == str(parse_activation(act)) else \
            [float(v) for v in jacobian_moments(spec, "identity", q_in, kmax)]
        z = [(m - l) / e if e > 0 else 0.0 for m, l, e in zip(r["moments"], limit, r["stderr"])]
        m4 = 2.0 if ens.is_complex else float(ens.moment(4))
        table.append({**r, "activation": task["activation"], "limit": limit, "z": z,
                      "subleading_mc": N * (r["wishart_m2"] - 2), "subleading_mc_stderr": N * r["wishart_m2_stderr"],
                      "subleading_exact": (m4 - 2) if not ens.is_complex else 0.0})
    return {"N": N, "kmax": kmax, "rows": table}


def _commutativity_task(task: dict) -> dict:
    from .backend import get_xp

    xp = get_xp(task["device"])
    r = resnet_covariance_estimate(task["arch"], task["activation"], task["x"], task["y"], N=task["N"], L=task["L"],
                                   samples=task["samples"], seed=task["seed"], xp=xp, ensemble=task["ensemble"])
    return {"N": task["N"], "L": task["L"], "value": r["value"], "stderr": r["stderr"]}


def commutativity(spec, act, widths, depths, *, x=(1.0, 0.0), y=(0.6, 0.8), samples: int = 8, seed: int = 0,
                  ensemble="gaussian", device: str = "cpu", workers: int | None = None, scheduler: str | None = None,
                  progress: bool = False, png: str | None = None) -> dict:
    """ResNet covariance C_L(x, y) at width N on the grid widths x depths, and its error to the ODE limit
    along the width-first (largest N, L growing), depth-first (largest L, N growing) and diagonal paths."""
    from .limits import resnet_covariance

    if isinstance(spec, str) and spec.strip().startswith("resnet") and "L=" not in spec:
        # the depths come from the grid: `resnet:sw=1` is accepted here (the contract)
        spec = spec.strip() + (",L=inf" if ":" in spec else ":L=inf")
    spec = parse_arch(spec)
    if not isinstance(spec, ResNetSpec):
        raise MonteCarloError(f"commutativity needs a resnet spec, got {spec.kind}")
    _check_widths(widths)
    _check_widths(depths, "depths")
    limit = float(resnet_covariance(ResNetSpec(L=None, sw=spec.sw), act, list(x), list(y)))
    tasks = [dict(arch=str(ResNetSpec(L=int(L), sw=spec.sw)), activation=str(parse_activation(act)), x=list(x), y=list(y),
                  N=int(n), L=int(L), samples=samples, seed=task_seed(seed, i * len(depths) + j),
                  ensemble=str(parse_ensemble(ensemble)), device=device)
             for i, n in enumerate(widths) for j, L in enumerate(depths)]
    grid = _sweep(_commutativity_task, tasks, workers, scheduler, progress, "commutativity")
    for g in grid:
        g["error"] = abs(g["value"] - limit)
    at = {(g["N"], g["L"]): g for g in grid}
    W, D = sorted(set(widths)), sorted(set(depths))
    paths = {
        "width_first": [at[(W[-1], L)] for L in D],
        "depth_first": [at[(n, D[-1])] for n in W],
        "diagonal": [at[(W[round(i * (len(W) - 1) / max(len(D) - 1, 1))] if len(D) > 1 else W[-1], L)] for i, L in enumerate(D)]
        if len(D) >= len(W) else [at[(n, D[round(i * (len(D) - 1) / max(len(W) - 1, 1))])] for i, n in enumerate(W)],
    }
    out = {"limit": limit, "grid": grid,
           "paths": {k: [{"N": p["N"], "L": p["L"], "error": p["error"], "stderr": p["stderr"]} for p in v] for k, v in paths.items()}}
    if png:
        _plot_heatmap(png, W, D, at, limit)
    return out


def _linearity_task(task: dict) -> dict:
    from .backend import get_xp

    xp = get_xp(task["device"])
    h = hessian_norm(task["arch"], task["activation"], task["x"], N=task["N"], samples=task["samples"], seed=task["seed"],
                     xp=xp, ensemble=task["ensemble"])
    out = {"N": task["N"], "m": h["m"], "hessian_norm": h["value"], "hessian_stderr": h["stderr"]}
    if task["drift"]:
        dr = ntk_drift(task["arch"], task["activation"], N=task["N"], samples=task["samples"], seed=task["seed"] + 1,
                       steps=task["steps"], xp=xp, ensemble=task["ensemble"])
        out.update(ntk_change=dr["value"], ntk_change_stderr=dr["stderr"])
    return out


def linearity(spec, act, widths, *, samples: int = 4, seed: int = 0, d: int = 4, steps: int = 10, drift: bool = True,
              ensemble="gaussian", device: str = "cpu", workers: int | None = None, scheduler: str | None = None,
              progress: bool = False, png: str | None = None) -> dict:
    """Transition to linearity (seed 003): Hessian spectral norm at init vs the minimum in-degree m,
    log-log slope (about -1/2) with CI, and the NTK relative change after ``steps`` GD steps vs m."""
    spec = parse_arch(spec)
    _check_widths(widths)
    net = layer_net(spec, 2, d)
    if min_in_degree(net) is None:
        raise MonteCarloError("the minimum in-degree m is undefined: every node is fed only by the input")
    x = np.ones(d).tolist()  # |x|^2 / d = 1
    tasks = [dict(arch=str(spec), activation=str(parse_activation(act)), x=x, N=int(n), samples=samples,
                  seed=task_seed(seed, i), ensemble=str(parse_ensemble(ensemble)), device=device, drift=drift, steps=steps)
             for i, n in enumerate(widths)]
    rows = _sweep(_linearity_task, tasks, workers, scheduler, progress, "linearity")
    ms = [r["m"] for r in rows]
    if len(set(ms)) < 2:
        raise MonteCarloError("linearity needs at least two distinct in-degrees m (give two or more widths)")
    fit = fit_power_law(ms, [r["hessian_norm"] for r in rows], [r["hessian_stderr"] for r in rows])
    out = {"widths": [r["N"] for r in rows], "m": ms, "hessian_norm": [r["hessian_norm"] for r in rows],
           "hessian_stderr": [r["hessian_stderr"] for r in rows], **fit}
    if drift:
        out["ntk_change"] = [r["ntk_change"] for r in rows]
        out["ntk_change_stderr"] = [r["ntk_change_stderr"] for r in rows]
        dfit = fit_power_law(ms, out["ntk_change"], out["ntk_change_stderr"])
        out["ntk_change_slope"], out["ntk_change_slope_ci"] = dfit["slope"], dfit["slope_ci"]
    if png:
        _plot_loglog(png, ms, out["hessian_norm"], out["hessian_stderr"], fit, "m (min in-degree)", "||H||_2",
                     "Transition to linearity")
    return out


# =========================================================================== helpers
def _sweep(fn, tasks, workers, scheduler, progress, label):
    from .distributed import map_tasks

    return map_tasks(fn, tasks, workers=workers, scheduler=scheduler, progress=progress, description=label)


def _phi(act, z, xp):
    n = act.name
    if n == "relu":
        return xp.maximum(z, 0)
    if n == "identity":
        return z
    if n == "tanh":
        return xp.tanh(z)
    if n == "sin":
        return xp.sin(z)
    if n == "erf":
        return 2 * _ndtr(z * math.sqrt(2), xp) - 1
    if n == "gelu":
        return z * _ndtr(z, xp)
    out = xp.zeros_like(z)
    for c in reversed(act.coeffs):  # Horner
        out = out * z + float(c)
    return out


def _dphi(act, z, xp):
    n = act.name
    if n == "relu":
        return (z > 0).astype(z.dtype)
    if n == "identity":
        return xp.ones_like(z)
    if n == "tanh":
        t = xp.tanh(z)
        return 1 - t * t
    if n == "sin":
        return xp.cos(z)
    if n == "erf":
        return (2 / math.sqrt(math.pi)) * xp.exp(-z * z)
    if n == "gelu":
        return _ndtr(z, xp) + z * xp.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    out = xp.zeros_like(z)
    for j in range(len(act.coeffs) - 1, 0, -1):
        out = out * z + j * float(act.coeffs[j])
    return out


def _ndtr(z, xp):
    # scipy's ndtr is host-only; on another backend the values make one round trip to the host
    from scipy.special import ndtr

    from .backend import to_numpy

    return ndtr(z) if xp is np else xp.asarray(ndtr(to_numpy(z)))


def _dot(a: list, b: list, xp):
    """Per-sample inner product of two parameter lists (leading axis S)."""
    return sum(xp.sum((x * y).reshape(x.shape[0], -1), axis=1) for x, y in zip(a, b))


def _bcast(s, like, xp):
    s = xp.asarray(s)
    return s.reshape((s.shape[0],) + (1,) * (like.ndim - 1)) if s.ndim else s


def _stderr(a, xp):
    return xp.std(a, axis=0, ddof=1) / math.sqrt(a.shape[0])


def _to_host(a) -> np.ndarray:
    from .backend import to_numpy

    return to_numpy(a)


def _check_overflow(a, xp) -> None:
    bad = not bool(xp.all(xp.isfinite(a))) or (a.size and float(xp.max(xp.abs(a))) > OVERFLOW)
    if bad:
        raise MonteCarloError("overflow: the network output is not finite (unstable sw for this depth?); nothing stored")


def _check_positive(n, what: str) -> None:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise MonteCarloError(f"{what} must be an integer >= 1, got {n}")


def _check_samples(samples) -> None:
    if not isinstance(samples, (int, np.integer)) or samples < 2:
        raise MonteCarloError(f"samples must be an integer >= 2 (a standard error needs two), got {samples}")


def _check_widths(widths, what: str = "widths") -> None:
    if not len(widths):
        raise MonteCarloError(f"{what} is empty")
    for n in widths:
        if int(n) != n or n < 1:
            raise MonteCarloError(f"{what} must be integers >= 1, got {n}")


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


def _default_inputs() -> np.ndarray:
    t = np.linspace(0, np.pi / 2, 4)
    return np.stack([np.cos(t), np.sin(t), 0.5 * np.ones_like(t)], axis=1)


def _plot_loglog(path, x, y, yerr, fit, xlabel, ylabel, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.errorbar(x, y, yerr=yerr, fmt="o", label="Monte Carlo")
    xs = np.geomspace(min(x), max(x), 50)
    ax.plot(xs, fit["prefactor"] * xs ** fit["slope"], "--",
            label=f"slope {fit['slope']:.3f} [{fit['slope_ci'][0]:.3f}, {fit['slope_ci'][1]:.3f}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_heatmap(path, W, D, at, limit):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    err = np.array([[at[(n, L)]["error"] for L in D] for n in W])
    fig, ax = plt.subplots(figsize=(6, 4))
    im = ax.imshow(np.log10(np.maximum(err, 1e-16)), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(D)), [str(L) for L in D])
    ax.set_yticks(range(len(W)), [str(n) for n in W])
    ax.set_xlabel("depth L")
    ax.set_ylabel("width N")
    ax.set_title(f"log10 |C_(N,L) - C_ODE|, C_ODE = {limit:.4f}")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
