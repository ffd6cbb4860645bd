"""Exact sums over pairings: genus expansions and finite-width corrections (MISSION.md F5).

* Trace words: ``(1/N) E tr[(W_p...W_1 W_1^T...W_p^T)^k] = sum_j a_j N^-j`` exactly, for real,
  complex and non-Gaussian (cumulant) ensembles; GUE genus tables (Harer–Zagier numbers).
* MLPs and layer DAGs with polynomial activations: ``E[f(x) f(y)]``, the NTK expectation and the
  connected 4-point function ``E[f^4] - 3 E[f^2]^2`` as exact polynomials in 1/N, summed over all
  operator graphs and all their Wick pairings.
* The leading order (N-exponent 0) by a recursive enumeration of the leading pairings only, which
  makes deep nets cheap; it equals the NNGP (and NTK) recursion of CONVENTIONS.md.

All numbers are :class:`fractions.Fraction`.

Examples
--------
>>> trace_series(1, 2, "gaussian")     # real Ginibre: 2 + 1/N
{0: Fraction(2, 1), 1: Fraction(1, 1)}
>>> trace_series(1, 2, "complex")
{0: Fraction(2, 1)}
>>> trace_series(1, 2, "rademacher")   # 2 + (m4 - 2)/N with m4 = 1
{0: Fraction(2, 1), 1: Fraction(-1, 1)}
>>> gue_genus_table(3)[3]
{0: 5, 1: 10}
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .embed import aggregate, embed_batch, evaluate_factors
from .expand import (
    OperatorGraph,
    count_operator_graphs,
    gue_graph,
    iter_operator_graphs,
    jacobian_graph,
    layer_dag,
    trace_word_graph,
)
from .pair import PairingSpace, count_pairings, iter_partitions
from .spec import Activation, SpecError, parse_activation, parse_ensemble, parse_number

__all__ = [
    "DEFAULT_LIMIT",
    "TooLarge",
    "graph_terms",
    "trace_series",
    "gue_genus_table",
    "harer_zagier",
    "fuss_catalan",
    "estimate_pairings",
    "covariance_series",
    "ntk_series",
    "fourpoint_series",
    "leading_covariance",
    "leading_ntk",
    "tree_values",
    "jacobian_genus0_terms",
    "truncated_graph_sums",
    "jacobian_moment_from_graphs",
]

DEFAULT_LIMIT = 5_000_000
CHUNK = 1 << 16


from .errors import TooLarge  # noqa: E402  (one error type: errors.TooLarge, a SpecError)


# --------------------------------------------------------------------------- per graph
def graph_terms(graph: OperatorGraph, ensemble="gaussian", *, marked: bool = False, xp=None, chunk: int = CHUNK,
                census: dict | None = None, start: int = 0, stop: int | None = None) -> dict:
    """Exact terms of one graph: ``{(n_exponent, surface, factors): weight}`` summed over all
    pairings (Gaussian/complex) or cumulant partitions (other real ensembles).

    ``start``/``stop`` restrict a Wick-pairing sum to a rank range (the unit of distributed work);
    sums over disjoint ranges add up to the whole.

    >>> terms = graph_terms(gue_graph(2))
    >>> sorted((e, s, int(w)) for (e, s, _), w in terms.items())
    [(-2, 'S1', 1), (0, 'S0', 2)]
    """
    ens = parse_ensemble(ensemble)
    out: dict = defaultdict(Fraction)
    if ens.is_gaussian or graph.rule == "hermitian":
        space = PairingSpace(graph, ens)
        stop = space.total if stop is None else min(stop, space.total)
        for lo in range(start, stop, chunk):
            P = space.unrank(lo, min(lo + chunk, stop))
            if xp is not None:
                P = xp.asarray(P)
            for k, w in aggregate(graph, embed_batch(graph, P, xp=xp), marked=marked, census=census).items():
                out[k] += w
        return dict(out)
    reps, weights = [], []
    for blocks, w in iter_partitions(graph, ens):
        nxt = np.empty(graph.n_edges, dtype=np.int32)
        for b in blocks:
            nxt[list(b)] = list(b[1:]) + [b[0]]
        reps.append(nxt)
        weights.append(w)
    if reps:
        R = np.stack(reps)
        for k, w in aggregate(graph, embed_batch(graph, None, blocks_next=R), weights=weights, marked=marked, census=census).items():
            out[k] += w
    return dict(out)


def _series(terms: dict, values: dict | None = None) -> dict[int, Fraction]:
    series: dict[int, Fraction] = defaultdict(Fraction)
    for (e, _surface, factors), w in terms.items():
        series[-e] += w * (evaluate_factors(factors, values) if values is not None else 1)
    return {j: v for j, v in sorted(series.items()) if v != 0}


# --------------------------------------------------------------------------- trace words
def trace_series(p: int, k: int, ensemble="gaussian", *, limit: int = DEFAULT_LIMIT) -> dict[int, Fraction]:
    """Coefficients a_j of ``(1/N) E tr[(W_p...W_1 W_1^T...W_p^T)^k] = sum_j a_j N^-j``.

    W_i are N x N with i.i.d. entries of variance 1/N from ``ensemble``.

    >>> trace_series(2, 2)
    {0: Fraction(3, 1), 1: Fraction(3, 1), 2: Fraction(3, 1)}
    """
    graph = trace_word_graph(p, k)
    size = count_pairings(graph, ensemble)
    if size > limit:
        raise TooLarge(f"trace word p={p}, k={k} has {size:,} pairings, over the limit {limit:,} (use --force)")
    return _series(graph_terms(graph, ensemble))


def gue_genus_table(n_max: int, *, limit: int = DEFAULT_LIMIT) -> dict[int, dict[int, int]]:
    """Number of pairings of tr[H^(2n)] by genus g, for n = 1..n_max (Harer–Zagier numbers).

    >>> gue_genus_table(4)[4]
    {0: 14, 1: 70, 2: 21}
    """
    for n in range(1, n_max + 1):
        if count_pairings(gue_graph(n)) > limit:
            raise TooLarge(f"gue n={n} has {count_pairings(gue_graph(n)):,} pairings, over the limit {limit:,} (use --force)")
    table = {}
    for n in range(1, n_max + 1):
        g = gue_graph(n)
        counts: dict[int, int] = defaultdict(int)
        for (e, _s, _f), w in graph_terms(g).items():
            counts[-e // 2] += int(w)
        table[n] = dict(sorted(counts.items()))
    return table


def harer_zagier(n: int) -> dict[int, int]:
    """Harer–Zagier numbers eps_g(n) by their recursion (independent of any enumeration):
    (n+1) eps_g(n) = 2(2n-1) eps_g(n-1) + (n-1)(2n-1)(2n-3) eps_{g-1}(n-2).

    >>> harer_zagier(4)
    {0: 14, 1: 70, 2: 21}
    """

    @lru_cache(maxsize=None)
    def eps(g: int, m: int) -> int:
        if g < 0 or m < 0 or 2 * g > m:
            return 0
        if m == 0:
            return int(g == 0)
        val = 2 * (2 * m - 1) * eps(g, m - 1) + (m - 1) * (2 * m - 1) * (2 * m - 3) * eps(g - 1, m - 2)
        return val // (m + 1)

    return {g: eps(g, n) for g in range(n // 2 + 1)}


def fuss_catalan(p: int, k: int) -> int:
    """FussCatalan_p(k) = binom((p+1)k, k) / (pk + 1).

    >>> [fuss_catalan(1, k) for k in range(1, 5)], [fuss_catalan(2, k) for k in range(1, 5)]
    ([1, 2, 5, 14], [1, 3, 12, 55])
    """
    return math.comb((p + 1) * k, k) // (p * k + 1)


# --------------------------------------------------------------------------- trees
def tree_values(arch, activation: Activation, xs: list[list[Fraction]], tags=("x", "y")) -> dict:
    """Exact values of the symbols of tree graphs: c_k, sw, sb, and the input moments
    ``S<a>_<b> = sum_i x_i^a y_i^b / d^((a+b)/2)`` (computed lazily)."""
    coeffs = activation.poly_coeffs
    vals: dict = {f"c{k}": c for k, c in enumerate(coeffs)}
    vals["sw"], vals["sb"] = arch.sw, getattr(arch, "sb", Fraction(0))
    x = xs[0]
    y = xs[1] if len(xs) > 1 else xs[0]
    d = len(x)

    class _Values(dict):
        def __missing__(self, key):
            if key.startswith("c"):
                return Fraction(0)
            if key.startswith("S"):
                a, b = (int(t) for t in key[1:].split("_"))
                if (a + b) % 2:
                    raise ValueError(f"odd input moment {key}")
                v = sum((xi**a) * (yi**b) for xi, yi in zip(x, y)) / Fraction(d) ** ((a + b) // 2)
                self[key] = v
                return v
            raise KeyError(key)

    return _Values(vals)


def _exact_vector(v, what: str) -> list[Fraction]:
    out = [parse_number(t if isinstance(t, (str, Fraction, int)) else float(t), what) for t in v]
    if not out:
        raise SpecError(f"{what} is empty")
    return out


def _poly(activation) -> Activation:
    act = parse_activation(activation)
    if not act.is_polynomial:
        raise SpecError(f"exact finite-width sums need a polynomial activation (poly:c0,c1,... or identity), got {act}")
    return act


def _live(graph: OperatorGraph, values: dict) -> bool:
    """False when a factor of the graph's monomial is zero (the whole graph contributes 0)."""
    return all(values[s] != 0 for s, _ in graph.monomial)


def _graphs(arch, quantity: str, act: Activation, values: dict):
    for order in range(len(act.poly_coeffs)):
        for g in iter_operator_graphs(arch, quantity, order):
            if _live(g, values):
                yield g


def estimate_pairings(arch, quantity: str, activation) -> int:
    """Exact number of Wick pairings summed over the operator graphs needed for ``activation``,
    from per-tree edge counts (no graph is built); raises :class:`TooLarge` first when the number
    of graphs alone is over 200,000.

    >>> from graphexp_db.spec import parse_arch
    >>> estimate_pairings(parse_arch("mlp:L=1"), "covariance", "poly:0,1")
    1
    """
    from collections import Counter

    from .expand import _child_terms
    from .pair import double_factorial

    act = _poly(activation)
    values = tree_values(arch, act, [[Fraction(1)]])
    dag = layer_dag(arch)
    D = len(act.poly_coeffs) - 1
    n_graphs = sum(count_operator_graphs(arch, quantity, o) for o in range(D + 1))
    if n_graphs > 200_000:
        raise TooLarge(f"{quantity} of {arch} with {act} has {n_graphs:,} operator graphs, over the limit 200,000")

    def edges(term, acc: Counter) -> bool:
        if term[0] == "b":
            acc[f"b{term[1]}"] += 1
            return values["sb"] != 0
        _, w, u, sub = term
        acc[dag.mat(w, u)] += 1
        if sub == "x":
            return True
        return values[f"c{len(sub)}"] != 0 and all(edges(t, acc) for t in sub)

    roots = []
    for t in _child_terms(dag, dag.sink, D):
        acc: Counter = Counter()
        if edges(t, acc):
            roots.append(acc)

    def pairings(counters) -> int:
        total: Counter = Counter()
        for c in counters:
            total.update(c)
        out = 1
        for n in total.values():
            if n % 2:
                return 0
            out *= double_factorial(n - 1)
        return out

    if quantity == "fourpoint":
        return sum(pairings(c) for c in itertools.combinations_with_replacement(roots, 4))
    return sum(pairings((a, b)) for a in roots for b in roots)


def _tree_series(arch, quantity, activation, xs, *, marked=False, limit=DEFAULT_LIMIT, xp=None, progress=None):
    act = _poly(activation)
    layer_dag(arch)  # validates the architecture kind
    values = tree_values(arch, act, xs)
    size = estimate_pairings(arch, quantity, act)
    if size > limit:
        raise TooLarge(f"{quantity} of {arch} with {act} needs about {size:,} pairings, over the limit {limit:,} (use --force)")
    series: dict[int, Fraction] = defaultdict(Fraction)
    for g in _graphs(arch, quantity, act, values):
        for (e, _s, factors), w in graph_terms(g, marked=marked, xp=xp).items():
            series[-e] += w * evaluate_factors(factors, values)
        if progress is not None:
            progress(count_pairings(g))
    return {j: v for j, v in sorted(series.items()) if v != 0}


def covariance_series(arch, activation, x, y, **kw) -> dict[int, Fraction]:
    """``E[f(x) f(y)] = sum_j a_j N^-j`` exactly, for a polynomial activation.

    >>> from graphexp_db.spec import parse_arch
    >>> covariance_series(parse_arch("mlp:L=1,sw=1,sb=0"), "poly:0,1,1", [1, 0], [1, 0])  # one hidden layer: exact at N^0
    {0: Fraction(5, 4)}
    >>> covariance_series(parse_arch("mlp:L=2"), "poly:0,1,1", [1, 0], [1, 0])
    {0: Fraction(95, 16), 1: Fraction(51, 1)}
    """
    return _tree_series(arch, "covariance", activation, [_exact_vector(x, "x"), _exact_vector(y, "y")], **kw)


def ntk_series(arch, activation, x, y, **kw) -> dict[int, Fraction]:
    """``E[Theta(x, y)] = sum_j a_j N^-j`` exactly (NTK parametrisation, all weights and biases).

    >>> from graphexp_db.spec import parse_arch
    >>> ntk_series(parse_arch("mlp:L=1"), "identity", [1, 0], [1, 0])  # K2 + K1, K1 = 1/2
    {0: Fraction(1, 1)}
    """
    return _tree_series(arch, "ntk", activation, [_exact_vector(x, "x"), _exact_vector(y, "y")], marked=True, **kw)


def fourpoint_series(arch, activation, x, *, connected: bool = True, **kw) -> dict[int, Fraction]:
    """Connected 4-point function ``E[f(x)^4] - 3 E[f(x)^2]^2 = sum_j a_j N^-j`` exactly
    (``connected=False``: the raw ``E[f(x)^4]``).

    >>> from graphexp_db.spec import parse_arch
    >>> fourpoint_series(parse_arch("mlp:L=1"), "identity", [1, 1])   # f Gaussian given W1: 6/N
    {1: Fraction(6, 1)}
    """
    xv = _exact_vector(x, "x")
    raw = _tree_series(arch, "fourpoint", activation, [xv], **kw)
    if not connected:
        return raw
    two = _tree_series(arch, "covariance", activation, [xv, xv], **kw)
    out: dict[int, Fraction] = defaultdict(Fraction, raw)
    for (i, a), (j, b) in itertools.product(two.items(), repeat=2):
        out[i + j] -= 3 * a * b
    return {j: v for j, v in sorted(out.items()) if v != 0}


# --------------------------------------------------------------------------- leading order
@dataclass(frozen=True)
class _Dual:
    """a + b*eps with eps^2 = 0: b collects the weight times the number of crossing pairs."""

    a: Fraction
    b: Fraction = Fraction(0)

    def __add__(self, o: _Dual) -> _Dual:
        return _Dual(self.a + o.a, self.b + o.b)

    def __mul__(self, o: _Dual) -> _Dual:
        return _Dual(self.a * o.a, self.a * o.b + self.b * o.a)

    def scale(self, q: Fraction) -> _Dual:
        return _Dual(self.a * q, self.b * q)


@lru_cache(maxsize=None)
def _matching_census(a: int, b: int) -> tuple[tuple[tuple[int, int, int], int], ...]:
    """Perfect matchings of a positions of colour A and b of colour B, counted by their numbers of
    (AA, AB, BB) pairs: the leading pairings of two identified vertices of degrees a and b.

    With j mixed pairs: C(a, j) C(b, j) j! (a-j-1)!! (b-j-1)!! matchings.

    >>> _matching_census(2, 2)
    (((0, 2, 0), 2), ((1, 0, 1), 1))
    """
    from .pair import double_factorial

    out = []
    for j in range(min(a, b) + 1):
        if (a - j) % 2 or (b - j) % 2:
            continue
        count = math.comb(a, j) * math.comb(b, j) * math.factorial(j) * double_factorial(a - j - 1) * double_factorial(b - j - 1)
        out.append((((a - j) // 2, j, (b - j) // 2), count))
    return tuple(sorted(out))


def _leading(arch, activation, x, y) -> _Dual:
    """Sum over the leading pairings of all operator graphs of E[f(x) f(y)] (NTK: with crossing marks).

    A leading pairing pairs the children of two identified vertices among themselves, so summing
    over the trees below a vertex pair factorises pair by pair: for vertices of degrees a and b the
    leading matchings are counted by their numbers of (xx, xy, yy) pairs, and each pair contributes
    the sum ``P_u`` over the child terms it can join (a W edge with the subtrees below it, or a bias).
    """
    act = _poly(activation)
    dag = layer_dag(arch)
    c = act.poly_coeffs
    values = tree_values(arch, act, [_exact_vector(x, "x"), _exact_vector(y, "y")])
    S = {("x", "x"): values["S2_0"], ("y", "y"): values["S0_2"], ("x", "y"): values["S1_1"]}
    sw2, sb2 = arch.sw**2, getattr(arch, "sb", Fraction(0)) ** 2
    one = _Dual(Fraction(1))

    def power(d: _Dual, n: int) -> _Dual:
        out = one
        for _ in range(n):
            out = out * d
        return out

    @lru_cache(maxsize=None)
    def P(u: int, c1: str, c2: str) -> _Dual:
        # pairs of child terms of two identified vertices at node u, coloured c1 and c2
        mark = _Dual(Fraction(1), Fraction(int(c1 != c2)))
        total = _Dual(sb2 if dag.bias else Fraction(0))
        for w in dag.parents[u]:
            scale = sw2 * dag.edge_scale2(w, u)
            inner = _Dual(S[(c1, c2)]) if w == 0 else V(w, c1, c2)
            total = total + inner.scale(scale)
        return total * mark

    @lru_cache(maxsize=None)
    def V(w: int, c1: str, c2: str) -> _Dual:
        # sum over the degrees a, b of the two identified phi-vertices at node w
        total = _Dual(Fraction(0))
        for a, ca in enumerate(c):
            for b, cb in enumerate(c):
                if ca == 0 or cb == 0:
                    continue
                for (naa, nab, nbb), count in _matching_census(a, b):
                    term = power(P(w, c1, c1), naa) * power(P(w, c1, c2), nab) * power(P(w, c2, c2), nbb)
                    total = total + term.scale(ca * cb * count)
        return total

    return P(dag.sink, "x", "y")


def truncated_graph_sums(arch, activation, x, y, orders) -> list[tuple[int, Fraction, Fraction]]:
    """Leading-order graph sums of the NNGP and NTK with the activation's Taylor series truncated at
    each degree in ``orders`` (the catalogue's orders 0..D together): ``[(D, nngp_D, ntk_D), ...]``.

    For entire activations (sin, erf) they converge to the closed-form kernels as D grows.

    >>> from graphexp_db.spec import parse_arch
    >>> [round(float(k), 7) for _, k, _ in truncated_graph_sums(parse_arch("mlp:L=1"), "sin", [1, 0], [1, 0], [1, 3, 9, 15])]
    [0.5, 0.3020833, 0.3160623, 0.3160603]
    >>> import math; round((1 - math.exp(-1)) / 2, 7)  # E[sin u sin u], u ~ N(0, 1/2)
    0.3160603
    """
    act = parse_activation(activation)
    out = []
    for D in orders:
        coeffs = act.taylor(D)
        poly = Activation("poly", tuple(coeffs) if any(coeffs) else (Fraction(0),))
        d = _leading(arch, poly, x, y)
        out.append((D, d.a, d.b))
    return out


def leading_covariance(arch, activation, x, y) -> Fraction:
    """The N^0 term of ``E[f(x) f(y)]``: the sum over leading pairings only (quotient a tree).

    Leading pairings pair the children of two identified vertices among themselves, so their sum
    factorises vertex pair by vertex pair (see ``_leading``); deep nets stay cheap.

    >>> from graphexp_db.spec import parse_arch
    >>> leading_covariance(parse_arch("mlp:L=2"), "poly:0,1,1", [1, 0], [1, 0])
    Fraction(95, 16)
    """
    return _leading(arch, activation, x, y).a


def leading_ntk(arch, activation, x, y) -> Fraction:
    """The N^0 term of the expected NTK: leading pairings weighted by their crossing pairs.

    >>> from graphexp_db.spec import parse_arch
    >>> leading_ntk(parse_arch("mlp:L=2"), "identity", [1, 0], [1, 0])  # 3 K1, K1 = 1/2
    Fraction(3, 2)
    """
    return _leading(arch, activation, x, y).b


# --------------------------------------------------------------------------- Jacobian words
def jacobian_genus0_terms(L: int, k: int) -> dict[tuple, int]:
    """Genus-0 (leading) terms of (1/N) E tr[(J J^T)^k] for MLP(L), symbolic in the D-moments.

    Returns ``{factors: count}`` where ``factors`` holds ``("sw", 2k(L+1))`` and ``("mu<l>_<j>", power)``,
    ``mu<l>_<j>`` standing for E[phi'(h_l)^j] (the D_l entries of a class of j D-letters).

    >>> jacobian_genus0_terms(1, 1)
    {(('mu1_2', 1), ('sw', 4)): 1}
    """
    graph = jacobian_graph(L, k)
    out: dict[tuple, int] = defaultdict(int)
    for (e, _s, factors), w in graph_terms(graph).items():
        if e == 0:
            out[factors] += int(w)
    return dict(out)


def jacobian_moment_from_graphs(L: int, k: int, sw, mu) -> float:
    """m_k from the genus-0 Jacobian words: ``mu(l, j)`` returns E[phi'(h_l)^j] at the layer variance.

    >>> jacobian_moment_from_graphs(2, 3, 1.0, lambda l, j: 1.0)  # identity, L=2: FussCatalan_3(3)
    22.0
    """
    total = 0.0
    for factors, count in jacobian_genus0_terms(L, k).items():
        term = float(count)
        for sym, power in factors:
            if sym == "sw":
                term *= float(sw) ** power
            else:
                level, j = (int(t) for t in sym[2:].split("_"))
                term *= mu(level, j) ** power
        total += term
    return total
