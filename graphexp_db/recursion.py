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

import math
from collections import defaultdict
from fractions import Fraction

import numpy as np

from .expand import LayerDag, layer_dag
from .moments import EXACT, QUADRATURE, method_of, oracle_for
from .spec import DagSpec, MLPSpec, SpecError, parse_activation, parse_ensemble

__all__ = ["series", "QUANTITIES", "supports"]

QUANTITIES = ("covariance", "ntk", "fourpoint", "fourpoint-mixed")

# A polynomial is a dict {(alpha, deg, q, e): coefficient}: alpha a sorted tuple of (variable,
# power), deg its total degree, q the power of nu = 1/N, e the power of eps (0 or 1).


def supports(arch, ensemble="gaussian", activation=None, quantity: str = "covariance") -> str | None:
    """``None`` when the recursion covers the case, else the reason it does not.

    >>> from graphexp_db.spec import parse_arch
    >>> supports(parse_arch("mlp:L=3")) is None, supports(parse_arch("resnet:L=2")) is not None
    (True, True)
    >>> supports(parse_arch("mlp:L=3"), "rademacher", "poly:0,1,1") is None
    True
    """
    if not isinstance(arch, (MLPSpec, DagSpec)):
        return "the layer recursion covers MLPs and layer DAGs (ResNet branches share matrices across layers)"
    ens = parse_ensemble(ensemble)
    if ens.is_gaussian:
        if ens.is_complex:
            return "complex weights are for trace words; networks take real ensembles"
        return None
    if not isinstance(arch, MLPSpec):
        return f"the layer recursion with {ens} weights covers MLPs"
    if activation is not None and not parse_activation(activation).is_polynomial:
        return f"the layer recursion with {ens} weights needs a polynomial activation"
    if quantity == "ntk":
        return f"the NTK mean with {ens} weights is not covered by the layer recursion (Gaussian interpolation); use --method graphs"
    return None


def series(arch, activation, xs, quantity: str, *, max_order: int | None = None, resolution: int = 1,
           ensemble="gaussian") -> dict:
    """Coefficients ``{j: a_j}`` of ``sum_j a_j N^-j`` for ``quantity`` at the inputs ``xs``.

    Parameters
    ----------
    arch : MLPSpec or DagSpec
    activation : activation spec; polynomial activations give exact Fractions
    xs : one input (``fourpoint``) or two (``covariance``, ``ntk``, ``fourpoint-mixed``), each a
        sequence of exact numbers (Fractions) or floats
    quantity : ``covariance`` (E[f(x) f(y)]), ``ntk`` (E[Theta(x, y)]), ``fourpoint``
        (E[f^4] - 3 E[f^2]^2 at x) or ``fourpoint-mixed`` (the connected (x, x, y, y) function)
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
    exact = method_of(act) == EXACT
    if max_order is None and not exact:
        raise SpecError(f"{act} is not a polynomial: give max_order (the series in 1/N does not terminate)")
    if max_order is not None and max_order < 0:
        raise SpecError(f"max_order must be >= 0, got {max_order}")
    engine = _Engine(layer_dag(arch), arch, act, xs, quantity, max_order, resolution)
    return engine.run()


class _Engine:
    def __init__(self, dag: LayerDag, arch, act, xs, quantity, J, resolution):
        self.dag, self.act, self.J = dag, act, J
        self.ntk = quantity == "ntk"
        self.quantity = quantity
        self.exact = method_of(act) == EXACT
        num = (lambda v: v) if self.exact else float
        self.num = num
        one_site = quantity == "fourpoint"
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
            x = [np.asarray(xi, dtype=float) for xi in xs]
            phi0 = {c: np.einsum("pd,pd->p", x[c[0]], x[c[1]]) / d for c in self.C}
        else:
            x = [[num(Fraction(v)) for v in xi] for xi in xs]
            phi0 = {c: sum(a * b for a, b in zip(x[c[0]], x[c[1]])) / d for c in self.C}
        order = _topological(dag)
        self.order = order
        self.K: dict = {}      # node -> {c: K_v(c)} (infinite width, t = 1)
        self.Phibar: dict = {0: phi0}
        self.oracles: dict = {}
        for v in order[1:]:
            self.K[v] = {c: self.sb2 + sum(self.sw2 * num(dag.edge_scale2(u, v)) * self.Phibar[u][c] for u in dag.parents[v])
                         for c in self.C}
            if v == dag.sink:
                break
            Kv = self.K[v]
            mat = ((Kv[(0, 0)],),) if one_site else ((Kv[(0, 0)], Kv[(0, 1)]), (Kv[(0, 1)], Kv[(1, 1)]))
            self.oracles[v] = oracle_for(act, mat, resolution=resolution, max_derivative=self._max_derivative())
            self.Phibar[v] = {c: self.oracles[v].T(*_sites(c), 0, 0) for c in self.C}
            self.oracles[v].release()   # keep the values, drop the work arrays until v is eliminated
        self.var: dict = {}    # (node, type) -> variable index, created on first use
        self._subst_cache: dict = {}
        self._moments: dict = {}

    def _max_derivative(self) -> int | None:
        """Highest derivative order the Taylor series can ask of an oracle: 2 x the largest kept g-degree."""
        if self.J is None:
            return None
        deg = 0
        while self.keep(deg + 1, 0, 0):
            deg += 1
        return 2 * deg

    def _conditional_moment(self, moments: "_Moments", i: int, j: int) -> dict:
        return moments.gaussian_taylor(i, j)

    def _var(self, node, t) -> int:
        return self.var.setdefault((node, t), len(self.var))

    def _types(self, v) -> list:
        """Types (pair types, or moment types) of node v's variables in use."""
        return sorted(t for (node, t) in self.var if node == v)

    def _new_moments(self, v) -> "_Moments":
        return _Moments(self, v, self._types(v), _sites)

    # ------------------------------------------------------------------ truncation
    def keep(self, deg: int, q: int, e: int) -> bool:
        if self.J is None:
            return True
        half = deg // 2 if (self.ntk and not e) else (deg + 1) // 2
        return q + half <= self.J

    # ------------------------------------------------------------------ driver
    def run(self) -> dict:
        sink = self.dag.sink
        g = self._gspace_vars()
        # observables as polynomials in the sink's g = G_sink - K_sink
        if self.quantity in ("covariance", "ntk"):
            obs = [_mono({g[(0, 1)]: 1})]
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

    def _constant(self, P: dict) -> dict:
        """{(q, e): coefficient} of the terms without variables (everything else has a dPhi_0 = 0)."""
        out: dict = defaultdict(int)
        for (alpha, _deg, q, e), c in P.items():
            if not alpha:
                out[(q, e)] += c
        return out

    def _combine(self, values: list[dict]) -> dict:
        K = self.K[self.dag.sink]
        J = self.J

        def part(val: dict, e: int) -> dict:
            return {q: c for (q, ee), c in val.items() if ee == e}

        def mul(a: dict, b: dict) -> dict:
            out: dict = defaultdict(int)
            for i, x in a.items():
                for j, y in b.items():
                    if J is None or i + j <= J:
                        out[i + j] += x * y
            return out

        def add(*terms) -> dict:
            out: dict = defaultdict(int)
            for sign, t in terms:
                for j, v in t.items():
                    out[j] += sign * v
            return out

        if self.quantity == "covariance":
            res = add((1, {0: K[(0, 1)]}), (1, part(values[0], 0)))
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

    def _mul(self, P: dict, Q: dict) -> dict:
        out: dict = {}
        keep = self.keep
        for (a1, d1, q1, e1), c1 in P.items():
            for (a2, d2, q2, e2), c2 in Q.items():
                e = e1 + e2
                if e > 1:
                    continue
                q, deg = q1 + q2, d1 + d2
                if not keep(deg, q, e):
                    continue
                key = (_merge(a1, a2), deg, q, e)
                out[key] = out.get(key, 0) + c1 * c2
        return out

    def _add_into(self, out: dict, P: dict, scale=1) -> None:
        for k, c in P.items():
            out[k] = out.get(k, 0) + scale * c

    def _pow(self, P: dict, k: int, cache: dict, key) -> dict:
        if (key, k) in cache:
            return cache[(key, k)]
        if k == 0:
            res = {((), 0, 0, 0): self.num(Fraction(1))}
        else:
            res = self._mul(self._pow(P, k - 1, cache, key), P)
        cache[(key, k)] = res
        return res

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

    def _substitute(self, P: dict, v, extra_deg: int = 0) -> dict:
        """Replace the g-space variables ("g", c) of node v by their expressions in the parents
        (``extra_deg``: degree of the monomial the result will be multiplied by, for truncation)."""
        if v not in self._subst_cache:
            self._subst_cache[v] = (self._linear(v), {}, {})
        lin, cache, products = self._subst_cache[v]
        keep = self.keep
        out: dict = {}
        for (alpha, _deg, q, e), c in P.items():
            prod = products.get(alpha)
            if prod is None:
                # computed once per g-monomial at q = e = 0: the keep rule only tightens with q, e
                prod = {((), 0, 0, 0): self.num(Fraction(1))}
                for var, k in alpha:
                    prod = self._mul(prod, self._pow(lin[var[1]], k, cache, var[1]))
                products[alpha] = prod
            for (a, d, qq, ee), cc in prod.items():
                ee += e
                if ee > 1 or not keep(d + extra_deg, qq + q, ee):
                    continue
                key = (a, d, qq + q, ee)
                out[key] = out.get(key, 0) + c * cc
        return out

    def _eliminate(self, P: dict, v) -> dict:
        """E[P | everything before node v] as a polynomial in the parents of v.

        Terms are grouped by their monomial in the other variables ("rest"); per group the
        conditional moments of v's variables are summed in the small g-space of v first and
        substituted once.
        """
        mine = {idx: t for (node, t), idx in self.var.items() if node == v}
        groups: dict = defaultdict(dict)
        for (alpha, deg, q, e), c in P.items():
            beta = tuple((mine[var], k) for var, k in alpha if var in mine)
            rest = tuple((var, k) for var, k in alpha if var not in mine)
            key = (beta, q, e)
            bucket = groups[(rest, deg - sum(k for _, k in beta))]
            bucket[key] = bucket.get(key, 0) + c
        if v not in self._moments:
            self._moments[v] = self._new_moments(v)
        moments = self._moments[v]
        out: dict = {}
        keep = self.keep
        for (rest, rdeg), bucket in groups.items():
            Eg: dict = {}
            for (beta, q, e), c in bucket.items():
                base = moments.centred_cached(beta) if beta else {((), 0, 0, 0): 1}
                for (a, d, q2, e2), c2 in base.items():
                    ee = e + e2
                    if ee > 1 or not keep(d + rdeg, q + q2, ee):
                        continue
                    k = (a, d, q + q2, ee)
                    Eg[k] = Eg.get(k, 0) + c * c2
            Ep = self._substitute(Eg, v, extra_deg=rdeg)
            for (a, d, q, e), c in Ep.items():
                if not _nz(c):
                    continue
                k = (_merge(a, rest), d + rdeg, q, e)
                out[k] = out.get(k, 0) + c
        return {k: c for k, c in out.items() if _nz(c)}


class _Moments:
    """Conditional moments of dPhi_v given G_v = K_v + g, as polynomials in g and nu."""

    def __init__(self, eng: _Engine, v, types: list, counts):
        self.eng, self.v = eng, v
        self.o = eng.oracles.get(v)
        self.C = types          # the types of node v's variables, in a fixed order
        self.counts = counts    # type -> (powers of phi at site x, at site y)
        self._mu: dict = {}
        self._kappa: dict = {}
        self._m_eps: dict = {}
        self._taylor: dict = {}
        self._centred: dict = {}
        # a node fed only by the input has a deterministic G_v: g = 0, or eps K on the NTK cross
        # entry (eps^2 = 0), so its Taylor series stop at degree 0 (1)
        fed_by_input = all(u == 0 for u in eng.dag.parents[v])
        self.gmax = (1 if eng.ntk else 0) if fed_by_input else None

    def taylor(self, i: int, j: int) -> dict:
        """E[phi(u)^i phi(v)^j | parents] as a polynomial in the g-space of node v."""
        key = (i, j)
        if key not in self._taylor:
            self._taylor[key] = self.eng._conditional_moment(self, i, j)
        return self._taylor[key]

    def gaussian_taylor(self, i: int, j: int) -> dict:
        """E_{K+g}[phi(u)^i phi(v)^j] as a polynomial in g = G_v - K_v (Price's theorem)."""
        eng, o = self.eng, self.o
        C = eng.C
        out: dict = {}
        mi, mj = o.max_derivative(i), o.max_derivative(j)
        # g-degree bound: a term g^alpha (q = 0) survives only if keep(|alpha|, 0, 0)
        deg = 0
        while True:
            if not eng.keep(deg, 0, 0) or (self.gmax is not None and deg > self.gmax):
                break
            added = False
            for alpha in _compositions(deg, len(C)):
                m = sum(a * _sites(c)[0] for a, c in zip(alpha, C))
                n = sum(a * _sites(c)[1] for a, c in zip(alpha, C))
                if (mi is not None and m > mi) or (mj is not None and n > mj):
                    continue
                added = True
                t = o.T(i, j, m, n)
                if not _nz(t):
                    continue
                denom = 1
                for a, c in zip(alpha, C):
                    denom *= math.factorial(a) * (2 ** a if c[0] == c[1] else 1)
                coef = t / denom if not eng.exact else Fraction(t) / denom
                mono = tuple((("g", c), a) for a, c in zip(alpha, C) if a)
                out[(mono, deg, 0, 0)] = coef
            if not added:
                break
            deg += 1
        return out

    def mu(self, gamma: tuple) -> dict:
        """E[X^gamma] with X_c = phi(u_a) phi(u_b): a Taylor polynomial in g."""
        i = sum(k * self.counts(c)[0] for k, c in zip(gamma, self.C))
        j = sum(k * self.counts(c)[1] for k, c in zip(gamma, self.C))
        return self.taylor(i, j)

    def kappa(self, gamma: tuple) -> dict:
        """Joint cumulant of X over the multiset gamma (moment-cumulant recursion)."""
        if gamma in self._kappa:
            return self._kappa[gamma]
        k = next(idx for idx, g in enumerate(gamma) if g)
        head = _sub(gamma, k)
        out = dict(self.mu(gamma))
        for delta in _below(head):
            if delta == head:
                continue
            coeff = _binom(head, delta)
            rest = tuple(h - d for h, d in zip(head, delta))
            term = self.eng._mul(self.kappa(_add(delta, k)), self.mu(rest))
            self.eng._add_into(out, term, -coeff)
        out = {key: c for key, c in out.items() if _nz(c)}
        self._kappa[gamma] = out
        return out

    def m_eps(self, gamma: tuple) -> dict:
        """E[eps^gamma], eps the centred mean of N copies: cumulants nu^(n-1) kappa_n, kappa_1 = 0."""
        if gamma in self._m_eps:
            return self._m_eps[gamma]
        eng = self.eng
        if not any(gamma):
            return {((), 0, 0, 0): eng.num(Fraction(1))}
        k = next(idx for idx, g in enumerate(gamma) if g)
        head = _sub(gamma, k)
        out: dict = {}
        for delta in _below(head):
            n = sum(delta) + 1
            if n < 2:
                continue
            if not eng.keep(0, n - 1, 0):
                continue
            kap = {(a, d, q + n - 1, e): c for (a, d, q, e), c in self.kappa(_add(delta, k)).items() if eng.keep(d, q + n - 1, e)}
            rest = tuple(h - d for h, d in zip(head, delta))
            eng._add_into(out, eng._mul(kap, self.m_eps(rest)), _binom(head, delta))
        out = {key: c for key, c in out.items() if _nz(c)}
        self._m_eps[gamma] = out
        return out

    def centred_cached(self, beta: tuple) -> dict:
        if beta not in self._centred:
            self._centred[beta] = self.centred(dict(beta))
        return self._centred[beta]

    def centred(self, beta: dict) -> dict:
        """E[prod_c dPhi_v(c)^beta_c | G_v = K_v + g] = sum_gamma C(beta, gamma) Delta^(beta-gamma) E[eps^gamma]."""
        eng = self.eng
        b = tuple(beta.get(c, 0) for c in self.C)
        deltas = []
        for idx in range(len(self.C)):
            unit = tuple(int(t == idx) for t in range(len(self.C)))
            # Delta = conditional mean - infinite-width value: drop only the nu^0 constant
            d = {key: val for key, val in self.mu(unit).items() if key != ((), 0, 0, 0)}
            deltas.append(d)
        cache: dict = {}
        out: dict = {}
        for gamma in _below(b):
            rest = tuple(bb - g for bb, g in zip(b, gamma))
            term = self.m_eps(gamma)
            for idx, r in enumerate(rest):
                if r and term:
                    term = eng._mul(term, eng._pow(deltas[idx], r, cache, idx))
            if term:
                eng._add_into(out, term, _binom(b, gamma))
        return {key: c for key, c in out.items() if _nz(c)}


# --------------------------------------------------------------------------- helpers
def _nz(c) -> bool:
    """Non-zero test for a scalar or (batch mode) an array of coefficients."""
    if isinstance(c, np.ndarray):
        return bool(np.any(c != 0))
    return c != 0


def _sites(c: tuple[int, int]) -> tuple[int, int]:
    """How many of the pair c sit at site 0 and at site 1: (0,0) -> (2,0), (0,1) -> (1,1)."""
    return (2 - sum(c), sum(c))


def _mono(powers: dict) -> dict:
    alpha = tuple(sorted(powers.items(), key=lambda t: t[0][1]))
    return {(alpha, sum(powers.values()), 0, 0): 1}


def _merge(a: tuple, b: tuple) -> tuple:
    if not a:
        return b
    if not b:
        return a
    d = dict(a)
    for var, k in b:
        d[var] = d.get(var, 0) + k
    return tuple(sorted(d.items(), key=_var_key))


def _var_key(item):
    var = item[0]
    return (1, var[1]) if isinstance(var, tuple) else (0, var)


def _compositions(total: int, parts: int):
    if parts == 1:
        yield (total,)
        return
    for first in range(total, -1, -1):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


def _below(b: tuple):
    if not b:
        yield ()
        return
    for first in range(b[0] + 1):
        for rest in _below(b[1:]):
            yield (first,) + rest


def _binom(top: tuple, sub: tuple) -> int:
    return math.prod(math.comb(t, s) for t, s in zip(top, sub))


def _sub(g: tuple, k: int) -> tuple:
    return tuple(x - (i == k) for i, x in enumerate(g))


def _add(g: tuple, k: int) -> tuple:
    return tuple(x + (i == k) for i, x in enumerate(g))


def _topological(dag: LayerDag) -> list[int]:
    """Nodes in a topological order with 0 first and the sink last."""
    import graphlib

    ts = graphlib.TopologicalSorter({v: set(ps) for v, ps in enumerate(dag.parents)})
    order = [v for v in ts.static_order()]
    order.remove(dag.sink)
    return order + [dag.sink]


_ = QUADRATURE  # re-exported name used by callers through moments


# =========================================================================== non-Gaussian weights
class _CumulantEngine(_Engine):
    """MLPs with i.i.d. non-Gaussian weights and biases (symmetric ensembles), polynomial phi.

    Given layer l, the preactivations of layer l+1 are i.i.d. across neurons but not Gaussian:
    their joint cumulants are exact,

        kappa_(r,s) = c_n sw^n N^(1 - n/2) Y_l(r, s) + c_n sb^n,    n = r + s even,

    with ``c_n`` the ensemble's cumulants (``c_2 = 1``) and ``Y_l(r, s) = (1/N) sum_j phi(h_j(x))^r
    phi(h_j(y))^s`` the empirical moments of layer l, which become the state variables (the
    kernel entries are the case r + s = 2).  The first layer, fed by d fixed inputs, has the
    exact cumulants ``c_n sw^n d^(-n/2) sum_k x_k^r y_k^s + c_n sb^n``: its N -> infinity limit
    is the exact one at this d, not the Gaussian NNGP.  The rest of the recursion (centred
    sample means, truncation) is the Gaussian one.
    """

    def __init__(self, dag, arch, act, ens, xs, quantity, J):
        self.dag, self.act, self.J = dag, act, J
        self.ntk = False
        self.quantity = quantity
        self.exact = True
        self.num = lambda v: v
        one_site = quantity == "fourpoint"
        if one_site and len(xs) != 1 or not one_site and len(xs) != 2:
            raise SpecError(f"{quantity} takes {'one input' if one_site else 'two inputs'}")
        self.two = not one_site
        self.x = [[Fraction(v) for v in xi] for xi in xs]
        self.d = len(self.x[0])
        self.sw, self.sb = Fraction(arch.sw), Fraction(arch.sb)
        self.ens = ens
        self.c: dict = {}
        self.coeffs = tuple(act.poly_coeffs)
        self.order = _topological(dag)
        self.C = None
        self.oracles = {}
        self.var = {}
        self._subst_cache = {}
        self._moments = {}
        self._mom_cache: dict = {}     # (layer, a, b) -> polynomial E[h_x^a h_y^b | layer - 1]
        self._M_cache: dict = {}       # (layer, P, Q) -> polynomial E[phi_x^P phi_y^Q | layer - 1]
        self._ybar: dict = {}          # (layer, r, s) -> infinite-width value of Y_layer(r, s)

    def _cumulant(self, layer: int, r: int, s: int) -> dict:
        """kappa_(r,s) of one preactivation of ``layer`` given layer - 1, as a polynomial in g = dY."""
        n = r + s
        if n % 2 or n < 2:
            return {}
        if n not in self.c:
            self.c[n] = Fraction(self.ens.cumulant(n))
        cn = self.c[n]
        out: dict = {}
        bias = cn * self.sb**n
        if bias:
            out[((), 0, 0, 0)] = bias
        if cn:
            if layer == 1:
                val = cn * self.sw**n * sum(a**r * b**s for a, b in zip(self.x[0], self.x[-1])) / Fraction(self.d) ** (n // 2)
                out[((), 0, 0, 0)] = out.get(((), 0, 0, 0), 0) + val
            else:
                q = n // 2 - 1
                if self.keep(0, q, 0):
                    ybar = self.ybar(layer - 1, r, s)
                    if ybar:
                        out[((), 0, q, 0)] = out.get(((), 0, q, 0), 0) + cn * self.sw**n * ybar
                if self.keep(1, q, 0):
                    out[(((("g", (r, s)), 1),), 1, q, 0)] = cn * self.sw**n
        return {k: v for k, v in out.items() if v != 0}

    def _moment(self, layer: int, a: int, b: int) -> dict:
        """E[h_x^a h_y^b | layer - 1] from the cumulants (bivariate moment-cumulant recursion)."""
        key = (layer, a, b)
        if key in self._mom_cache:
            return self._mom_cache[key]
        if a == 0 and b == 0:
            out = {((), 0, 0, 0): Fraction(1)}
        else:
            out = {}
            if a > 0:   # peel one h_x
                for i in range(a):
                    for j in range(b + 1):
                        kap = self._cumulant(layer, i + 1, j)
                        if kap:
                            coeff = math.comb(a - 1, i) * math.comb(b, j)
                            self._add_into(out, self._mul(kap, self._moment(layer, a - 1 - i, b - j)), coeff)
            else:
                for j in range(b):
                    kap = self._cumulant(layer, 0, j + 1)
                    if kap:
                        self._add_into(out, self._mul(kap, self._moment(layer, 0, b - 1 - j)), math.comb(b - 1, j))
            out = {k: v for k, v in out.items() if v != 0}
        self._mom_cache[key] = out
        return out

    def _phi_moment(self, layer: int, P: int, Q: int) -> dict:
        """E[phi(h_x)^P phi(h_y)^Q | layer - 1] as a polynomial in g = dY_(layer-1) and nu."""
        key = (layer, P, Q)
        if key in self._M_cache:
            return self._M_cache[key]
        from .moments import _poly_pow

        p, q = _poly_pow(self.coeffs, P), _poly_pow(self.coeffs, Q)
        out: dict = {}
        for a, pa in enumerate(p):
            if pa:
                for b, qb in enumerate(q):
                    if qb:
                        self._add_into(out, self._moment(layer, a, b), pa * qb)
        out = {k: v for k, v in out.items() if v != 0}
        self._M_cache[key] = out
        return out

    def ybar(self, layer: int, r: int, s: int) -> Fraction:
        """Infinite-width value of Y_layer(r, s) = E[phi(h_x)^r phi(h_y)^s] under the N -> inf law of
        the layer: exact at layer 1 (fixed d), Gaussian(sw^2 Ybar + sb^2) plus the bias law after."""
        key = (layer, r, s)
        if key not in self._ybar:
            from .moments import _poly_pow

            p, q = _poly_pow(self.coeffs, r), _poly_pow(self.coeffs, s)
            self._ybar[key] = sum((pa * qb * self._moment_const(layer, a, b)
                                   for a, pa in enumerate(p) if pa for b, qb in enumerate(q) if qb), Fraction(0))
        return self._ybar[key]

    def _cumulant_const(self, layer: int, r: int, s: int) -> Fraction:
        n = r + s
        if n % 2 or n < 2:
            return Fraction(0)
        if n not in self.c:
            self.c[n] = Fraction(self.ens.cumulant(n))
        cn = self.c[n]
        out = cn * self.sb**n
        if layer == 1:
            out += cn * self.sw**n * sum(a**r * b**s for a, b in zip(self.x[0], self.x[-1])) / Fraction(self.d) ** (n // 2)
        elif n == 2:
            out += self.sw**2 * self.ybar(layer - 1, r, s)
        return out

    def _moment_const(self, layer: int, a: int, b: int) -> Fraction:
        """E[h_x^a h_y^b] under the infinite-width law of ``layer`` (numbers only)."""
        key = ("const", layer, a, b)
        if key in self._mom_cache:
            return self._mom_cache[key]
        if a == 0 and b == 0:
            out = Fraction(1)
        elif a > 0:
            out = sum((math.comb(a - 1, i) * math.comb(b, j) * self._cumulant_const(layer, i + 1, j) * self._moment_const(layer, a - 1 - i, b - j)
                       for i in range(a) for j in range(b + 1) if (i + 1 + j) % 2 == 0), Fraction(0))
        else:
            out = sum((math.comb(b - 1, j) * self._cumulant_const(layer, 0, j + 1) * self._moment_const(layer, 0, b - 1 - j)
                       for j in range(b) if (j + 1) % 2 == 0), Fraction(0))
        self._mom_cache[key] = out
        return out

    def _conditional_moment(self, moments: "_Moments", i: int, j: int) -> dict:
        return self._phi_moment(moments.v, i, j)

    def _new_moments(self, v) -> "_Moments":
        return _Moments(self, v, self._types(v), lambda t: t)

    def _linear(self, v) -> dict:
        """g-space of node v (the moments dY of layer v - 1) in terms of that layer's variables."""
        class _Lazy(dict):
            def __missing__(inner, t):
                u = v - 1
                inner[t] = {} if u == 0 else {(((self._var(u, t), 1),), 1, 0, 0): Fraction(1)}
                return inner[t]
        return _Lazy()

    def run(self) -> dict:
        sink = self.dag.sink
        if self.quantity == "covariance":
            obs = [self._moment(sink, 1, 1)]
        elif self.quantity == "fourpoint":
            obs = [self._moment(sink, 4, 0), self._moment(sink, 2, 0)]
        else:
            obs = [self._moment(sink, 2, 2), self._moment(sink, 2, 0), self._moment(sink, 0, 2), self._moment(sink, 1, 1)]
        states = [self._substitute(P, sink) for P in obs]
        for v in reversed(self.order[1:-1]):
            states = [self._eliminate(state, v) for state in states]
            self._moments.pop(v, None)
        vals = [{q: c for (q, e), c in self._constant(st).items()} for st in states]
        J = self.J

        def mul(a, b):
            out: dict = defaultdict(Fraction)
            for i, x in a.items():
                for j, y in b.items():
                    if J is None or i + j <= J:
                        out[i + j] += x * y
            return out

        res: dict = defaultdict(Fraction)
        if self.quantity == "covariance":
            res.update(vals[0])
        elif self.quantity == "fourpoint":
            for j, v in vals[0].items():
                res[j] += v
            for j, v in mul(vals[1], vals[1]).items():
                res[j] -= 3 * v
        else:
            for j, v in vals[0].items():
                res[j] += v
            for j, v in mul(vals[1], vals[2]).items():
                res[j] -= v
            for j, v in mul(vals[3], vals[3]).items():
                res[j] -= 2 * v
        return {j: v for j, v in sorted(res.items()) if (J is None or j <= J) and v != 0}
