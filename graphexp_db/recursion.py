"""Exact finite-width series by a recursion over layers (MISSION.md F5): the second route.

Given the activations of the nodes feeding node ``v`` of a layer DAG (an MLP is a chain), the
preactivations of ``v`` are i.i.d. Gaussian across neurons with covariance

    G_v = sb^2 + sum_{u in in(v)} sw^2 s_uv^2 Phi_u,    Phi_u(a, b) = (1/N) sum_j phi(h_uj(a)) phi(h_uj(b)),

so ``Phi_v`` is a mean of N i.i.d. terms whose joint cumulants are exact: the n-th carries
``N^(1-n)``.  Write ``Phi_v = Phibar_v + dPhi_v`` around the infinite-width value and split
``dPhi_v = eps + Delta``: ``eps`` the centred sample mean (moments from cumulants), ``Delta`` the
change of the conditional mean ``E_G[phi phi] - E_K[phi phi]`` (a Taylor series in ``G - K`` whose
coefficients are Gaussian expectations of derivatives, Price's theorem; see
:mod:`graphexp_db.moments`).  A polynomial in the ``dPhi`` of the latest node is thereby replaced
by a polynomial in the ``dPhi`` of its parents, with coefficients polynomial in ``nu = 1/N``.
Carrying the observable from the output down to the input, where ``dPhi_0 = 0``, gives the whole
series in time polynomial in depth.

Truncation.  ``E[dPhi^alpha] = O(N^-ceil(|alpha|/2))``, so at ``max_order = J`` a term
``nu^q dPhi^alpha`` is dropped when ``q + ceil(|alpha|/2) > J``: exact through ``N^-J``.

NTK.  For Gaussian weights, ``d/dt E[f(x; theta) f(y; theta_t)]`` at ``t = 1``, with ``theta_t`` a copy
of every weight and bias correlated ``t`` with ``theta``, is ``E[grad f(x) . grad f(y)]`` (Gaussian
interpolation).  In the doubled network only the cross entries change: ``G_v(x, y~) = t (...)``.  So
the same recursion with ``t = 1 + eps`` (``eps^2 = 0``) gives the NTK as the ``eps`` part; its
expectation under the ``t``-law needs the looser bound ``q + floor(|alpha|/2) <= J`` for terms
without ``eps``.

Examples
--------
>>> from graphexp_db.spec import parse_arch
>>> series(parse_arch("mlp:L=2"), "poly:0,1,1", [[1, 0], [1, 0]], "covariance")   # = the graph sums
{0: Fraction(95, 16), 1: Fraction(51, 1)}
>>> series(parse_arch("mlp:L=3,sw=1,sb=0"), "identity", [[1, 1]], "fourpoint")   # 3 ((1 + 2/N)^3 - 1)
{1: Fraction(18, 1), 2: Fraction(36, 1), 3: Fraction(24, 1)}

References
----------
arXiv:2407.08459 (graph expansions); Roberts, Yaida, Hanin, *The Principles of Deep Learning
Theory*, arXiv:2106.10165, ch. 4-5 (the NLO kernel and four-point vertex).
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import numpy as np

from .expand import LayerDag, layer_dag
from .layer_algebra import ONE_SITE, LayerEngine, _mono, _nz, _sites, _topological, mul_series
from .moments import EXACT, method_of, oracle_for
from .recursion_cumulant import CumulantEngine as _CumulantEngine
from .recursion_resnet import ResNetEngine
from .spec import DagSpec, MLPSpec, ResNetSpec, SpecError, parse_activation, parse_ensemble

__all__ = ["series", "QUANTITIES", "supports"]

QUANTITIES = ("covariance", "ntk", "fourpoint", "fourpoint-mixed", "variance")


def supports(arch, ensemble="gaussian", activation=None, quantity: str = "covariance") -> str | None:
    """``None`` when the recursion covers the case, else the reason it does not.

    Parameters
    ----------
    arch : MLPSpec, ResNetSpec or DagSpec
        The architecture (as returned by ``spec.parse_arch``).
    ensemble : str
        Weight ensemble (``gaussian``, ``rademacher``, ``sparse:p``, ...).
    activation : str, optional
        The activation phi (``relu``, ``tanh``, ``poly:c0,c1,...``, ...); ``None`` skips the checks that depend on it.
    quantity : str
        One of ``QUANTITIES`` (``covariance``, ``ntk``, ``fourpoint``, ``fourpoint-mixed``).

    Returns
    -------
    str or None
        ``None`` when the layer recursion computes the 1/N series for this case, else a one-line
        reason it does not.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> supports(parse_arch("mlp:L=3")) is None, supports(parse_arch("resnet:L=inf")) is not None
    (True, True)
    >>> supports(parse_arch("mlp:L=3"), "rademacher", "poly:0,1,1") is None
    True
    """
    ens = parse_ensemble(ensemble)
    if isinstance(arch, ResNetSpec):
        if arch.L is None:
            return "resnet:L=inf is the ODE limit; finite-width series need a finite depth"
        if not ens.is_gaussian or ens.is_complex:
            return f"the ResNet layer recursion assumes Gaussian weights, got {ens}"
        if activation is not None and not parse_activation(activation).is_polynomial:
            return "the ResNet layer recursion needs a polynomial activation (its state is the empirical moments of h_l)"
        return None
    if not isinstance(arch, (MLPSpec, DagSpec)):
        return "the layer recursion covers MLPs, layer DAGs and finite-L ResNets"
    if ens.is_gaussian:
        if ens.is_complex:
            return "complex weights are for trace words; networks take real ensembles"
        return None
    if not isinstance(arch, MLPSpec):
        return f"the layer recursion with {ens} weights covers MLPs"
    if activation is not None and not parse_activation(activation).is_polynomial:
        return f"the layer recursion with {ens} weights needs a polynomial activation"
    return None


def series(arch, activation, xs, quantity: str, *, max_order: int | None = None, resolution: int = 1,
           ensemble="gaussian") -> dict:
    """Coefficients ``{j: a_j}`` of ``sum_j a_j N^-j`` for ``quantity`` at the inputs ``xs``.

    Parameters
    ----------
    arch : MLPSpec or DagSpec
    activation : activation spec; polynomial activations give exact Fractions
    xs : one input (``fourpoint``, ``variance``) or two (``covariance``, ``ntk``, ``fourpoint-mixed``),
        each a sequence of exact numbers (Fractions) or floats
    quantity : ``covariance`` (E[f(x) f(y)]), ``variance`` (E[f(x)^2], one site: the covariance at
        y = x, which relu needs), ``ntk`` (E[Theta(x, y)]), ``fourpoint`` (E[f^4] - 3 E[f^2]^2 at x)
        or ``fourpoint-mixed`` (the connected (x, x, y, y) function)
    max_order : keep ``N^0 .. N^-max_order`` (exact through that order); ``None``: all (polynomials)
    resolution : quadrature refinement (non-exact oracles)

    Returns
    -------
    dict
        ``{j: coefficient}`` without zero coefficients, sorted by ``j``.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> series(parse_arch("mlp:L=1"), "identity", [[1, 0], [1, 0]], "ntk")   # K2 + K1
    {0: Fraction(1, 1)}
    """
    if quantity not in QUANTITIES:
        raise SpecError(f"unknown quantity {quantity!r} (expected one of {', '.join(QUANTITIES)})")
    reason = supports(arch, ensemble, activation, quantity)
    if reason:
        raise SpecError(reason)
    act = parse_activation(activation)
    ens = parse_ensemble(ensemble)
    if not ens.is_gaussian:
        return _CumulantEngine(layer_dag(arch), arch, act, ens, xs, quantity, max_order).run()
    if isinstance(arch, ResNetSpec):
        return ResNetEngine(arch, act, [[Fraction(v) for v in x] for x in xs], quantity, max_order).run()
    exact = method_of(act) == EXACT
    if max_order is None and not exact:
        raise SpecError(f"{act} is not a polynomial: give max_order (the series in 1/N does not terminate)")
    if max_order is not None and max_order < 0:
        raise SpecError(f"max_order must be >= 0, got {max_order}")
    engine = _Engine(layer_dag(arch), arch, act, xs, quantity, max_order, resolution)
    return engine.run()


class _Engine(LayerEngine):
    """Gaussian weights: the state is the empirical kernels Phi_v of the nodes (MLP, layer DAG)."""

    def __init__(self, dag: LayerDag, arch, act, xs, quantity, J, resolution):
        self.dag, self.act, self.J = dag, act, J
        self.ntk = quantity == "ntk"
        self.quantity = quantity
        self.exact = method_of(act) == EXACT
        num = (lambda v: v) if self.exact else float
        self.num = num
        one_site = quantity in ONE_SITE
        if one_site and len(xs) != 1 or not one_site and len(xs) != 2:
            raise SpecError(f"{quantity} takes {'one input' if one_site else 'two inputs'}")
        # batch mode: each input an array (P, d) of P input points (float oracles only)
        self.batch = isinstance(xs[0], np.ndarray) and xs[0].ndim == 2
        if self.batch and self.exact:
            raise SpecError("batched inputs need a floating-point oracle (non-polynomial activation)")
        d = np.shape(xs[0])[-1]
        if any(np.shape(x)[-1] != d for x in xs) or d == 0:
            raise SpecError("inputs must be non-empty and of one dimension")
        # sites: x (and y, or y in the t-correlated copy for the NTK); pair types c over the sites
        self.C = [(0, 0)] if one_site else [(0, 0), (0, 1), (1, 1)]
        self.sw2 = num(Fraction(arch.sw) ** 2)
        self.sb2 = num(Fraction(arch.sb) ** 2) if dag.bias else num(Fraction(0))
        if self.batch:
            xa = [np.asarray(xi, dtype=float) for xi in xs]
            phi0 = {c: np.einsum("pd,pd->p", xa[c[0]], xa[c[1]]) / d for c in self.C}
        else:
            xq = [[num(Fraction(v)) for v in xi] for xi in xs]
            phi0 = {c: sum(a * b for a, b in zip(xq[c[0]], xq[c[1]])) / d for c in self.C}
        order = _topological(dag)
        self.order = order
        self.K: dict = {}      # node -> {c: K_v(c)} (infinite width, t = 1)
        self.Phibar: dict = {0: phi0}
        self.oracles: dict = {}
        self._mats: dict = {}
        self._resolution = resolution
        for v in order[1:]:
            self.K[v] = {c: self.sb2 + sum(self.sw2 * num(dag.edge_scale2(u, v)) * self.Phibar[u][c] for u in dag.parents[v])
                         for c in self.C}
            if v == dag.sink:
                break
            Kv = self.K[v]
            mat = ((Kv[(0, 0)],),) if one_site else ((Kv[(0, 0)], Kv[(0, 1)]), (Kv[(0, 1)], Kv[(1, 1)]))
            # the infinite-width values need no derivatives: a cheap oracle now, the full one (jets to
            # the needed order) only when v is eliminated (_oracle), so no layer holds its work arrays twice
            self._mats[v] = mat
            cheap = oracle_for(act, mat, resolution=resolution, max_derivative=0)
            self.Phibar[v] = {c: cheap.T(*_sites(c), 0, 0) for c in self.C}
        self.var: dict = {}    # (node, type) -> variable index, created on first use
        self._subst_cache: dict = {}
        self._moments: dict = {}


    def _max_derivative(self) -> int | None:
        """Highest derivative order the Taylor series can ask of an oracle: 2 x the largest kept g-degree."""
        if self.J is None or self.exact:
            return None
        # keep(deg, 0, 0): ceil(deg/2) <= J, or floor(deg/2) <= J for the NTK's eps-free terms
        deg = 2 * self.J + (1 if self.ntk else 0)
        return 2 * deg


    def _oracle(self, v):
        if v not in self.oracles:
            self.oracles[v] = oracle_for(self.act, self._mats[v], resolution=self._resolution,
                                         max_derivative=self._max_derivative())
        return self.oracles[v]

    def _conditional_moment(self, moments, i: int, j: int) -> dict:
        return moments.gaussian_taylor(i, j)


    def run(self) -> dict:
        sink = self.dag.sink
        g = self._gspace_vars()
        # observables as polynomials in the sink's g = G_sink - K_sink
        if self.quantity in ("covariance", "ntk"):
            obs = [_mono({g[(0, 1)]: 1})]
        elif self.quantity == "variance":
            obs = [_mono({g[(0, 0)]: 1})]
        elif self.quantity == "fourpoint":
            obs = [_mono({g[(0, 0)]: 1}), _mono({g[(0, 0)]: 2})]
        else:
            obs = [_mono({g[(0, 0)]: 1}), _mono({g[(1, 1)]: 1}), _mono({g[(0, 1)]: 1}),
                   _mono({g[(0, 0)]: 1, g[(1, 1)]: 1}), _mono({g[(0, 1)]: 2})]
        states = [self._substitute(P, sink) for P in obs]
        for v in reversed(self.order[1:-1]):
            states = [self._eliminate(state, v) for state in states]
            # node v is done: free its quadrature grids and moment caches (deep nets, batches)
            self.oracles.pop(v, None)
            self._moments.pop(v, None)
        return self._combine([self._constant(state) for state in states])


    def _combine(self, values: list[dict]) -> dict:
        K = self.K[self.dag.sink]
        J = self.J

        def part(val: dict, e: int) -> dict:
            return {q: c for (q, ee), c in val.items() if ee == e}

        def mul(a: dict, b: dict) -> dict:
            return mul_series(a, b, J)

        def add(*terms) -> dict:
            out: dict = defaultdict(int)
            for sign, t in terms:
                for j, v in t.items():
                    out[j] += sign * v
            return out

        if self.quantity == "covariance":
            res = add((1, {0: K[(0, 1)]}), (1, part(values[0], 0)))
        elif self.quantity == "variance":
            res = add((1, {0: K[(0, 0)]}), (1, part(values[0], 0)))
        elif self.quantity == "ntk":
            res = part(values[0], 1)
        elif self.quantity == "fourpoint":
            m1, m2 = part(values[0], 0), part(values[1], 0)
            res = add((3, m2), (-3, mul(m1, m1)))
        else:
            g00, g11, g01, g0011, g0101 = (part(v, 0) for v in values)
            res = add((1, g0011), (-1, mul(g00, g11)), (2, g0101), (-2, mul(g01, g01)))
        out = {j: v for j, v in sorted(res.items()) if (J is None or j <= J) and _nz(v)}
        return out

    # ------------------------------------------------------------------ algebra

    def _gspace_vars(self) -> dict:
        return {c: ("g", c) for c in self.C}


    def _linear(self, v) -> dict:
        """g_v(c) = G_v(c) - K_v(c) in terms of the parents' dPhi (and eps for NTK cross entries)."""
        out = {}
        for c in self.C:
            P: dict = {}
            cross = self.ntk and c == (0, 1)
            for u in self.dag.parents[v]:
                if u == 0:
                    continue      # dPhi_0 = 0: the input kernel is deterministic
                coeff = self.sw2 * self.num(self.dag.edge_scale2(u, v))
                key = (((self._var(u, c), 1),), 1)
                P[key + (0, 0)] = P.get(key + (0, 0), 0) + coeff
                if cross:
                    P[key + (0, 1)] = P.get(key + (0, 1), 0) + coeff
            if cross:
                P[((), 0, 0, 1)] = self.K[v][c]
            out[c] = P
        return out

