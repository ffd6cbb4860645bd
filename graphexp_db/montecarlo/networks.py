"""Finite-width networks for Monte Carlo: layer DAGs with widths, weight ensembles, forward and
backward passes, parameter gradients, the empirical NTK and Hessian-vector products.

Every network follows CONVENTIONS.md.  MLPs are run as chain DAGs (``0 -> 1 -> ... -> L+1``), so
one hand-written forward/backward pass serves MLPs and layer DAGs (ResNets have their own forward
pass in :mod:`graphexp_db.montecarlo.estimators`).  Arrays carry a leading sample axis ``S``
(independent networks); ``xp`` is the array namespace (NumPy or CuPy, from
:func:`graphexp_db.backend.get_xp`).

Examples
--------
>>> import numpy as np
>>> net = layer_net("mlp:L=1,sw=1,sb=0", N=4, d=2)
>>> params = init_params(net, 3, np.random.default_rng(0))
>>> output_fn(net, params, np.eye(2), "identity").shape     # 3 networks, 2 inputs
(3, 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..activations import dphi as _dphi  # the activation registry: phi, phi' on any backend
from ..activations import phi as _phi
from ..backend import to_numpy
from ..spec import DagSpec, MLPSpec, SpecError, parse_activation, parse_arch, parse_ensemble

__all__ = [
    "OVERFLOW",
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
    "hessian_vp",
]

#: preactivations beyond this size mean an unstable sw (reported, never stored)
OVERFLOW = 1e100


class MonteCarloError(SpecError):
    """Bad Monte Carlo input or an unstable run (overflow); one line for the user.

    Parameters
    ----------
    message : str
        What is wrong with the input, or which run overflowed.

    Examples
    --------
    >>> layer_net("mlp:L=1", N=0, d=2)
    Traceback (most recent call last):
    ...
    graphexp_db.montecarlo.networks.MonteCarloError: width N must be an integer >= 1, got 0
    >>> issubclass(MonteCarloError, SpecError)
    True
    """


@dataclass(frozen=True)
class LayerNet:
    """A layer DAG with widths: node 0 the input (width d), the sink the scalar output.

    ``parents[v]`` lists the nodes feeding ``v``; ``order`` is topological (0 first, sink last).

    Parameters
    ----------
    parents : tuple of tuple of int
        ``parents[v]``: the nodes feeding node v (``()`` for the input).
    widths : tuple of int
        Width of each node: d for the input, N hidden, n_out for the sink.
    order : tuple of int
        A topological order of the nodes.
    sw, sb : float
        sigma_w and sigma_b.

    Examples
    --------
    A two-layer chain, input width 2, hidden width 3 (3*2 + 1*3 weights, 3 + 1 biases):

    >>> net = LayerNet(parents=((), (0,), (1,)), widths=(2, 3, 1), order=(0, 1, 2), sw=2.0, sb=0.0)
    >>> net.sink, net.edges, net.n_params, net.scale(1, 2) == 2 / math.sqrt(3)
    (2, ((0, 1), (1, 2)), 13, True)
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

    Parameters
    ----------
    spec : str or MLPSpec or DagSpec
        The architecture (ResNets are refused: they have their own estimator).
    N : int
        Hidden width (>= 1).
    d : int
        Input dimension (>= 1).
    n_out : int
        Output width.

    Returns
    -------
    LayerNet
        MLP(L) as the chain ``0 -> 1 -> ... -> L+1``; a DAG with its own nodes and order.

    Raises
    ------
    MonteCarloError
        For a ResNet, or a width that is not a positive integer.

    Examples
    --------
    >>> net = layer_net("mlp:L=2,sw=1.5,sb=0.1", N=4, d=3)
    >>> net.widths, net.edges, net.n_params
    ((3, 4, 4, 1), ((0, 1), (1, 2), (2, 3)), 41)
    """
    spec = parse_arch(spec)
    _check_positive(N, "width N")
    _check_positive(d, "input dimension d")
    parents: tuple[tuple[int, ...], ...]
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

    Parameters
    ----------
    net : LayerNet
        The network (:func:`layer_net`).

    Returns
    -------
    int or None
        m (the transition-to-linearity width); ``None`` when every node is fed only by the input.

    Examples
    --------
    Node 2 is fed by node 1 (width 16) and the input (width 3):

    >>> min_in_degree(layer_net('{"kind":"dag","edges":[[0,1],[0,2],[1,2]]}', N=16, d=3))
    19
    """
    vals = [sum(net.widths[u] for u in net.parents[v]) for v in net.order[1:] if set(net.parents[v]) != {0}]
    return min(vals) if vals else None


def sample_weights(ensemble, shape, rng, xp: ModuleType = np):
    """i.i.d. unit-variance entries of ``ensemble`` (CONVENTIONS.md) with the generator ``rng``.

    Parameters
    ----------
    ensemble : str or Ensemble
        ``gaussian``, ``complex``, ``rademacher``, ``uniform`` or ``sparse:p``.
    shape : tuple of int
        Shape of the sample.
    rng : generator
        A ``numpy.random.Generator`` (or CuPy's), which draws the entries.
    xp : module
        The array namespace (unused: the generator decides where the array lives).

    Returns
    -------
    array
        Real entries of mean 0 and variance 1 (complex for ``complex``: E|W|^2 = 1, E W^2 = 0).

    Examples
    --------
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
    if ens.p is None:  # every named ensemble is handled above; sparse:p carries p
        raise MonteCarloError(f"cannot sample the ensemble {ens}")
    p = float(ens.p)
    return (rng.random(shape) < p) * rng.standard_normal(shape) / math.sqrt(p)


def init_params(net: LayerNet, S: int, rng, xp: ModuleType = np, ensemble="gaussian") -> list:
    """Weights ``W_uv`` (S, width_v, width_u) for each edge, then biases ``b_v`` (S, width_v) for each node.

    Parameters
    ----------
    net : LayerNet
        The network (:func:`layer_net`).
    S : int
        Number of independent networks (the leading sample axis).
    rng : generator
        The random generator.
    xp : module
        ``numpy`` or ``cupy`` (the namespace of ``params``).
    ensemble : str or Ensemble
        Weight and bias ensemble (unit variance; the scales sw, sb are applied in :func:`forward`).

    Returns
    -------
    list of arrays
        The edge weights in ``net.edges`` order, then the biases in ``net.order[1:]`` order.

    Examples
    --------
    >>> net = layer_net("mlp:L=1", N=4, d=2)
    >>> [p.shape for p in init_params(net, 3, np.random.default_rng(0))]
    [(3, 4, 2), (3, 1, 4), (3, 4), (3, 1)]
    """
    Ws = [sample_weights(ensemble, (S, net.widths[v], net.widths[u]), rng, xp) for u, v in net.edges]
    bs = [sample_weights(ensemble, (S, net.widths[v]), rng, xp) for v in net.order[1:]]
    return Ws + bs


def forward(net: LayerNet, params: list, X, act, xp: ModuleType = np) -> dict:
    """Preactivations ``h[v]`` (S, M, width_v) and activations ``a[v]`` for inputs ``X`` (M, d) or (S, M, d).

    The scalar output is ``h[net.sink][..., 0]``.

    Parameters
    ----------
    net : LayerNet
        The network (:func:`layer_net`).
    params : list of arrays
        Weights then biases, as :func:`init_params` lays them out (leading sample axis S).
    X : array
        Inputs, (M, d) shared by the S networks or (S, M, d).
    act : str or Activation
        The activation phi.
    xp : module
        ``numpy`` or ``cupy`` (the namespace of ``params``).

    Returns
    -------
    dict
        ``{"h": {v: preactivations}, "a": {v: activations}}``; ``a[0]`` is the input, the sink has no
        ``a`` entry.

    Examples
    --------
    >>> net = layer_net("mlp:L=1", N=4, d=2)
    >>> cache = forward(net, init_params(net, 3, np.random.default_rng(0)), np.eye(2), "tanh")
    >>> sorted(cache["h"]), cache["h"][1].shape, cache["h"][2].shape
    ([1, 2], (3, 2, 4), (3, 2, 1))
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
    """Deltas ``delta[v] = d(sum_i seed_i f(x_i)) / d h_v(x_i)`` (S, M, width_v), ``seed`` of shape (S, M).

    Parameters
    ----------
    net : LayerNet
        The network (:func:`layer_net`).
    params : list of arrays
        Weights then biases, as :func:`init_params` lays them out (leading sample axis S).
    cache : dict
        The output of :func:`forward` at these parameters.
    seed : array, shape (S, M)
        The weights of the outputs in the differentiated sum.
    act : str or Activation
        The activation phi.
    xp : module
        ``numpy`` or ``cupy`` (the namespace of ``params``).

    Returns
    -------
    dict
        ``{v: delta_v}`` for every non-input node.

    Examples
    --------
    >>> net = layer_net("mlp:L=1", N=4, d=2)
    >>> params = init_params(net, 3, np.random.default_rng(0))
    >>> delta = backward(net, params, forward(net, params, np.eye(2), "tanh"), np.ones((3, 2)), "tanh")
    >>> delta[1].shape, bool(np.all(delta[2] == 1))      # the output's delta is the seed
    ((3, 2, 4), True)
    """
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
    """The scalar outputs f(x_i), shape (S, M).

    Parameters
    ----------
    net : LayerNet
        The network (:func:`layer_net`).
    params : list of arrays
        Weights then biases, as :func:`init_params` lays them out (leading sample axis S).
    X : array
        Inputs, (M, d) or (S, M, d).
    act : str or Activation
        The activation phi.
    xp : module
        ``numpy`` or ``cupy`` (the namespace of ``params``).

    Returns
    -------
    array, shape (S, M)
        The first output coordinate of each network at each input.

    Examples
    --------
    With sb = 0 every preactivation of a zero input is 0, and tanh(0) = 0:

    >>> net = layer_net("mlp:L=1,sw=1,sb=0", N=4, d=2)
    >>> output_fn(net, init_params(net, 3, np.random.default_rng(0)), np.zeros((5, 2)), "tanh").tolist()[0]
    [0.0, 0.0, 0.0, 0.0, 0.0]
    """
    return forward(net, params, X, act, xp)["h"][net.sink][..., 0]


def param_gradient(net: LayerNet, params: list, X, act, seed=None, xp: ModuleType = np) -> list:
    """Exact gradient of ``sum_i seed_i f(x_i)`` with respect to every weight and bias (same layout as params).

    Parameters
    ----------
    net : LayerNet
        The network (:func:`layer_net`).
    params : list of arrays
        Weights then biases, as :func:`init_params` lays them out (leading sample axis S).
    X : array
        Inputs, (M, d) or (S, M, d).
    act : str or Activation
        The activation phi.
    seed : array, shape (S, M), optional
        Output weights; ``None``: all ones.
    xp : module
        ``numpy`` or ``cupy`` (the namespace of ``params``).

    Returns
    -------
    list of arrays
        One gradient per entry of ``params``, of the same shape.

    Examples
    --------
    >>> net = layer_net("mlp:L=1", N=4, d=2)
    >>> params = init_params(net, 3, np.random.default_rng(0))
    >>> [g.shape for g in param_gradient(net, params, np.eye(2), "tanh")] == [p.shape for p in params]
    True
    """
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

    Parameters
    ----------
    net : LayerNet
        The network (:func:`layer_net`).
    params : list of arrays
        Weights then biases, as :func:`init_params` lays them out (leading sample axis S).
    X : array
        Inputs, (M, d) or (S, M, d).
    act : str or Activation
        The activation phi.
    xp : module
        ``numpy`` or ``cupy`` (the namespace of ``params``).

    Returns
    -------
    array, shape (S, M, M)
        One symmetric positive semi-definite NTK Gram matrix per network.

    Examples
    --------
    >>> net = layer_net("mlp:L=1", N=4, d=2)
    >>> K = ntk_matrix(net, init_params(net, 3, np.random.default_rng(0)), np.eye(2), "tanh")
    >>> K.shape, bool(np.allclose(K, np.swapaxes(K, 1, 2))), bool(np.all(np.linalg.eigvalsh(K) > -1e-12))
    ((3, 2, 2), True, True)
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


def hessian_vp(net: LayerNet, params: list, x, act, v: list, xp: ModuleType = np, eps: float = 1e-4) -> list:
    """Hessian-vector product of the scalar output f(x) wrt all parameters, per sample.

    A central difference of exact gradients, (g(theta + e v) - g(theta - e v)) / (2 e) with
    e = eps / |v| per sample: error O(e^2) (checked against a dense Hessian in the tests).

    Parameters
    ----------
    net : LayerNet
        The network (:func:`layer_net`).
    params : list of arrays
        Weights then biases, as :func:`init_params` lays them out (leading sample axis S).
    x : sequence of float
        One input (length d).
    act : str or Activation
        The activation phi.
    v : list of arrays
        The direction, in the layout of ``params`` (one direction per sample).
    xp : module
        ``numpy`` or ``cupy`` (the namespace of ``params``).
    eps : float
        Step length along ``v / |v|``.

    Returns
    -------
    list of arrays
        H v per sample, in the layout of ``params``.

    Examples
    --------
    >>> net = layer_net("mlp:L=1,sw=1,sb=0", N=3, d=2)      # identity: f is bilinear in (W1, W2)
    >>> params = init_params(net, 2, np.random.default_rng(0))
    >>> v = [np.ones_like(p) for p in params]
    >>> hv = hessian_vp(net, params, [1.0, 0.0], "identity", v)
    >>> [h.shape for h in hv] == [p.shape for p in params], bool(np.allclose(hv[2], 0) and np.allclose(hv[3], 0))
    (True, True)
    """
    X = xp.asarray(np.asarray(x, dtype=float).reshape(1, -1))
    norm = xp.sqrt(_dot(v, v, xp))
    e = eps / xp.maximum(norm, 1e-300)

    def shift(sign):
        return [p + sign * _bcast(e, p, xp) * w for p, w in zip(params, v)]

    gp = param_gradient(net, shift(1.0), X, act, xp=xp)
    gm = param_gradient(net, shift(-1.0), X, act, xp=xp)
    return [(a - b) / (2 * _bcast(e, a, xp)) for a, b in zip(gp, gm)]


# =========================================================================== helpers


def _dot(a: list, b: list, xp):
    """Per-sample inner product of two parameter lists (leading axis S)."""
    return sum(xp.sum((x * y).reshape(x.shape[0], -1), axis=1) for x, y in zip(a, b))


def _bcast(s, like, xp):
    s = xp.asarray(s)
    return s.reshape((s.shape[0],) + (1,) * (like.ndim - 1)) if s.ndim else s


def _to_host(a) -> np.ndarray:
    return to_numpy(a)


def _check_overflow(a, xp) -> None:
    bad = not bool(xp.all(xp.isfinite(a))) or (a.size and float(xp.max(xp.abs(a))) > OVERFLOW)
    if bad:
        raise MonteCarloError("overflow: the network output is not finite (unstable sw for this depth?); nothing stored")


def _check_positive(n, what: str) -> None:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise MonteCarloError(f"{what} must be an integer >= 1, got {n}")


