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

from .expand import LayerDag, layer_dag
from .moments import EXACT, QUADRATURE, method_of, oracle_for
from .spec import DagSpec, MLPSpec, SpecError, parse_activation

__all__ = ["series", "QUANTITIES", "supports"]

QUANTITIES = ("covariance", "ntk", "fourpoint", "fourpoint-mixed")

# A polynomial is a dict {(alpha, deg, q, e): coefficient}: alpha a sorted tuple of (variable,
# power), deg its total degree, q the power of nu = 1/N, e the power of eps (0 or 1).


def supports(arch, ensemble: str = "gaussian") -> str | None:
    """``None`` when the recursion covers ``arch``/``ensemble``, else the reason it does not.

    >>> from graphexp_db.spec import parse_arch
    >>> supports(parse_arch("mlp:L=3")) is None, supports(parse_arch("resnet:L=2")) is not None
    (True, True)
    """
    if not isinstance(arch, (MLPSpec, DagSpec)):
        return "the layer recursion covers MLPs and layer DAGs (ResNet branches share matrices across layers)"
    if str(ensemble) not in ("gaussian", "real"):
        return f"the layer recursion assumes Gaussian weights, got {ensemble}"
    return None


def series(arch, activation, xs, quantity: str, *, max_order: int | None = None, resolution: int = 1) -> dict:
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
    reason = supports(arch)
    if reason:
        raise SpecError(reason)
    act = parse_activation(activation)
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
        d = len(xs[0])
        if any(len(x) != d for x in xs) or d == 0:
            raise SpecError("inputs must be non-empty and of one dimension")
        # sites: x (and y, or y in the t-correlated copy for the NTK); pair types c over the sites
        self.C = [(0, 0)] if one_site else [(0, 0), (0, 1), (1, 1)]
        self.sw2 = num(Fraction(arch.sw) ** 2)
        self.sb2 = num(Fraction(arch.sb) ** 2) if dag.bias else num(Fraction(0))
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
            self.oracles[v] = oracle_for(act, mat, resolution=resolution)
            self.Phibar[v] = {c: self.oracles[v].T(*_sites(c), 0, 0) for c in self.C}
        self.var = {}          # (node, c) -> variable index, in topological order
        for v in order[1:-1]:
            for c in self.C:
                self.var[(v, c)] = len(self.var)
        self._subst_cache: dict = {}
        self._moments: dict = {}

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
        values = []
        for P in obs:
            state = self._substitute(P, sink)
            for v in reversed(self.order[1:-1]):
                state = self._eliminate(state, v)
            values.append(self._constant(state))
        return self._combine(values)

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
        zero = 0 if self.exact else 0.0
        out = {j: v for j, v in sorted(res.items()) if (J is None or j <= J) and v != zero}
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
                key = (((self.var[(u, c)], 1),), 1)
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
        mine = {self.var[(v, c)]: c for c in self.C}
        groups: dict = defaultdict(dict)
        for (alpha, deg, q, e), c in P.items():
            beta = tuple((mine[var], k) for var, k in alpha if var in mine)
            rest = tuple((var, k) for var, k in alpha if var not in mine)
            key = (beta, q, e)
            bucket = groups[(rest, deg - sum(k for _, k in beta))]
            bucket[key] = bucket.get(key, 0) + c
        if v not in self._moments:
            self._moments[v] = _Moments(self, v)
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
                if c == 0:
                    continue
                k = (_merge(a, rest), d + rdeg, q, e)
                out[k] = out.get(k, 0) + c
        return {k: c for k, c in out.items() if c != 0}


class _Moments:
    """Conditional moments of dPhi_v given G_v = K_v + g, as polynomials in g and nu."""

    def __init__(self, eng: _Engine, v):
        self.eng, self.v = eng, v
        self.o = eng.oracles[v]
        self.C = eng.C
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
        """E_{K+g}[phi(u)^i phi(v)^j] as a polynomial in g (Price's theorem)."""
        key = (i, j)
        if key in self._taylor:
            return self._taylor[key]
        eng, o = self.eng, self.o
        out: dict = {}
        mi, mj = o.max_derivative(i), o.max_derivative(j)
        # g-degree bound: a term g^alpha (q = 0) survives only if keep(|alpha|, 0, 0)
        deg = 0
        while True:
            if not eng.keep(deg, 0, 0) or (self.gmax is not None and deg > self.gmax):
                break
            added = False
            for alpha in _compositions(deg, len(self.C)):
                m = sum(a * _sites(c)[0] for a, c in zip(alpha, self.C))
                n = sum(a * _sites(c)[1] for a, c in zip(alpha, self.C))
                if (mi is not None and m > mi) or (mj is not None and n > mj):
                    continue
                added = True
                t = o.T(i, j, m, n)
                if t == 0:
                    continue
                denom = 1
                for a, c in zip(alpha, self.C):
                    denom *= math.factorial(a) * (2 ** a if c[0] == c[1] else 1)
                coef = t / denom if not eng.exact else Fraction(t) / denom
                mono = tuple((("g", c), a) for a, c in zip(alpha, self.C) if a)
                out[(mono, deg, 0, 0)] = coef
            if not added:
                break
            deg += 1
        self._taylor[key] = out
        return out

    def mu(self, gamma: tuple) -> dict:
        """E[X^gamma] with X_c = phi(u_a) phi(u_b): a Taylor polynomial in g."""
        i = sum(k * _sites(c)[0] for k, c in zip(gamma, self.C))
        j = sum(k * _sites(c)[1] for k, c in zip(gamma, self.C))
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
        out = {key: c for key, c in out.items() if c != 0}
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
        out = {key: c for key, c in out.items() if c != 0}
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
        for idx, c in enumerate(self.C):
            unit = tuple(int(t == idx) for t in range(len(self.C)))
            d = {key: val for key, val in self.mu(unit).items() if key[1] > 0}   # drop the constant
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
        return {key: c for key, c in out.items() if c != 0}


# --------------------------------------------------------------------------- helpers
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
