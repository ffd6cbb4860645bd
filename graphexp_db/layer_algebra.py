"""Polynomial algebra of the layer recursion (:mod:`graphexp_db.recursion`).

A polynomial is a dict ``{(alpha, deg, q, e): coefficient}``: ``alpha`` a sorted tuple of
(variable, power), ``deg`` its total degree, ``q`` the power of ``nu = 1/N`` and ``e`` the power of
``eps`` (0 or 1, ``eps^2 = 0``: the NTK's tangent direction).  :class:`LayerEngine` holds the operations
every engine shares (truncated products, substitution of a node's g-space, elimination of a node by
its conditional moments); :class:`Moments` computes those conditional moments of a centred sample
mean from the single-neuron moments an engine supplies.

>>> P = {((("a", 1),), 1, 0, 0): 2}
>>> LayerEngine.mul_polys(P, P, lambda deg, q, e: True)
{((('a', 2),), 2, 0, 0): 4}
"""

from __future__ import annotations

import math
from collections import defaultdict
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from .expand import LayerDag

__all__ = ["LayerEngine", "Moments", "MOMENT_OBSERVABLES", "ONE_SITE", "connected_series", "mul_series"]


#: quantities at one input: E[f(x)^4] - 3 E[f(x)^2]^2, and E[f(x)^2] (the covariance at y = x, with
#: one site: relu's cross derivatives E[delta(u) delta(v)] diverge as the two sites of a pair become one)
ONE_SITE = ("fourpoint", "variance")

#: the output moments E[f(x)^a f(y)^b] each quantity needs, in the order connected_series takes them
MOMENT_OBSERVABLES = {"covariance": [(1, 1)], "variance": [(2, 0)], "fourpoint": [(4, 0), (2, 0)],
                      "fourpoint-mixed": [(2, 2), (2, 0), (0, 2), (1, 1)]}


def mul_series(a: dict, b: dict, J: int | None) -> dict:
    """Product of two series {j: a_j} in 1/N, truncated at N^-J (coefficients: numbers or arrays).

    Parameters
    ----------
    a, b : dict
        Series ``{j: a_j}`` meaning ``sum_j a_j N^-j``; coefficients Fractions, floats or numpy arrays.
    J : int or None
        Highest power of 1/N kept; ``None`` keeps every term.

    Returns
    -------
    dict
        ``{j: c_j}`` with ``c_j = sum_(i+k=j) a_i b_k`` for ``j <= J`` (zero coefficients are kept).

    Examples
    --------
    >>> mul_series({0: 1, 1: 2}, {0: 3, 1: 1}, 1)
    {0: 3, 1: 7}
    """
    out: dict = defaultdict(int)
    for i, x in a.items():
        for j, y in b.items():
            if J is None or i + j <= J:
                out[i + j] += x * y
    return dict(out)


def connected_series(quantity: str, means: list[dict], J: int | None) -> dict:
    """Combine series of output moments (``MOMENT_OBSERVABLES[quantity]``) into the quantity:
    E f_x f_y; E f^4 - 3 (E f^2)^2; E f_x^2 f_y^2 - E f_x^2 E f_y^2 - 2 (E f_x f_y)^2 (truncated at N^-J).

    Parameters
    ----------
    quantity : str
        ``covariance``, ``fourpoint`` or ``fourpoint-mixed`` (the keys of ``MOMENT_OBSERVABLES``).
    means : list of dict
        The 1/N series ``{j: a_j}`` of the output moments E[f(x)^a f(y)^b], in the order
        ``MOMENT_OBSERVABLES[quantity]`` lists them.
    J : int or None
        Highest power of 1/N kept; ``None`` keeps every term.

    Returns
    -------
    dict
        ``{j: a_j}`` of the connected quantity, sorted by ``j``, without zero coefficients.

    Examples
    --------
    >>> connected_series("fourpoint", [{0: Fraction(3), 1: Fraction(6)}, {0: Fraction(1)}], None)
    {1: Fraction(6, 1)}
    """
    res: dict = defaultdict(int)
    for j, v in means[0].items():
        res[j] += v
    if quantity == "fourpoint":
        for j, v in mul_series(means[1], means[1], J).items():
            res[j] -= 3 * v
    elif quantity == "fourpoint-mixed":
        for j, v in mul_series(means[1], means[2], J).items():
            res[j] -= v
        for j, v in mul_series(means[3], means[3], J).items():
            res[j] -= 2 * v
    return {j: v for j, v in sorted(res.items()) if (J is None or j <= J) and v != 0}


class LayerEngine:
    """The shared algebra; subclasses set ``J``, ``ntk``, ``num``, ``exact``, ``dag``, ``C``,
    ``oracles`` and implement ``_linear``, ``_conditional_moment`` and ``_counts``.

    Attributes
    ----------
    J : int or None
        Truncation: keep ``N^0 .. N^-J`` (``None``: all terms, polynomial activations).
    ntk : bool
        Whether the engine tracks the NTK's tangent direction ``eps``.
    num : callable
        Converts a Fraction to the engine's number type (identity when exact, ``float`` otherwise).
    exact : bool
        Whether the coefficients are exact Fractions.
    dag : LayerDag
        The network's layer DAG (``expand.layer_dag``).

    Examples
    --------
    A monomial ``g^alpha nu^q`` with ``|alpha| = deg`` is of order N^-(q + ceil(deg/2)) (each g is a
    fluctuation of order N^-1/2); ``keep`` drops what lies beyond ``N^-J``:

    >>> class Truncated(LayerEngine):
    ...     J, ntk = 1, False
    >>> Truncated().keep(2, 0, 0), Truncated().keep(2, 1, 0), Truncated().keep(3, 0, 0)
    (True, False, False)
    """

    # set by every subclass's __init__
    J: int | None
    ntk: bool
    exact: bool
    num: Callable[[Any], Any]
    dag: Any
    C: Any
    var: dict
    _moments: dict
    _subst_cache: dict

    def _linear(self, v) -> dict:
        raise NotImplementedError

    def _conditional_moment(self, moments: Moments, i: int, j: int) -> dict:
        raise NotImplementedError

    @staticmethod
    def mul_polys(P: dict, Q: dict, keep) -> dict:
        """Product of two polynomials, dropping the terms ``keep(deg, q, e)`` rejects (and eps^2)."""
        out: dict = {}
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

    def _var(self, node, t) -> int:
        return self.var.setdefault((node, t), len(self.var))

    def _types(self, v) -> list:
        """Types (pair types, or moment types) of node v's variables in use."""
        return sorted(t for (node, t) in self.var if node == v)


    def _new_moments(self, v) -> "Moments":
        return Moments(self, v, self._types(v), self._counts)

    @staticmethod
    def _counts(t):
        return _sites(t)

    def keep(self, deg: int, q: int, e: int) -> bool:
        if self.J is None:
            return True
        half = deg // 2 if (self.ntk and not e) else (deg + 1) // 2
        return q + half <= self.J

    # ------------------------------------------------------------------ driver

    def _constant(self, P: dict) -> dict:
        """{(q, e): coefficient} of the terms without variables (everything else has a dPhi_0 = 0)."""
        out: dict = defaultdict(int)
        for (alpha, _deg, q, e), c in P.items():
            if not alpha:
                out[(q, e)] += c
        return out


    def _mul(self, P: dict, Q: dict) -> dict:
        return self.mul_polys(P, Q, self.keep)

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




class Moments:
    """Conditional moments of dPhi_v given G_v = K_v + g, as polynomials in g and nu.

    dPhi_v is the centred mean over the N neurons of node v of the products X_c = phi(u_a) phi(u_b)
    (one per type c); its moments follow from the single-neuron moments the engine supplies
    (``eng._conditional_moment``) by the moment-cumulant recursion, with nu = 1/N.

    Parameters
    ----------
    eng : LayerEngine
        The engine: truncation rule, number type, layer DAG and single-neuron moments.
    v : int
        The DAG node whose neurons are averaged.
    types : list
        The types c of node v's variables, in a fixed order (gamma and beta tuples follow it).
    counts : callable
        ``counts(c) -> (i, j)``: how many factors phi at site x and at site y one X_c holds.

    Examples
    --------
    X = z^2 with z ~ N(0, 1) (E X = 1, E X^2 = 3): the mean of N copies has variance 2/N, so
    E[dPhi^2] is 2 nu:

    >>> from graphexp_db.expand import layer_dag
    >>> from graphexp_db.spec import parse_arch
    >>> class Toy(LayerEngine):
    ...     J, ntk, exact, num = None, False, True, staticmethod(Fraction)
    ...     dag = layer_dag(parse_arch("mlp:L=1"))
    ...     def _conditional_moment(self, moments, i, j):   # E z^(i+j)
    ...         return {((), 0, 0, 0): Fraction([1, 0, 1, 0, 3][i + j])}
    >>> m = Moments(Toy(), 1, [(0, 0)], lambda c: (2, 0))
    >>> m.kappa((2,)), m.m_eps((2,))
    ({((), 0, 0, 0): Fraction(2, 1)}, {((), 0, 1, 0): Fraction(2, 1)})
    """

    def __init__(self, eng: LayerEngine, v, types: list, counts):
        self.eng, self.v = eng, v
        self.o = eng._oracle(v) if hasattr(eng, "_oracle") else None
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
        assert o is not None, "the Gaussian Taylor series needs a moment oracle"
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




