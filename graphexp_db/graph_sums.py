"""Sums over the Wick pairings of operator graphs (the graph route of MISSION.md F5).

* :func:`graph_terms`: the exact terms of one operator graph, summed over its pairings (Gaussian,
  complex) or cumulant partitions (other ensembles), by N-exponent, surface and factor monomial;
* tree quantities (covariance, NTK, 4-point) of polynomial MLPs / DAGs summed graph by graph, and
  their exact size estimate;
* the leading order (N-exponent 0) by a recursive enumeration of the leading pairings only, equal to
  the NNGP and NTK recursions of CONVENTIONS.md.

:mod:`graphexp_db.finite` is the public face (it re-exports these names).

>>> from graphexp_db.spec import parse_arch
>>> leading_covariance(parse_arch("mlp:L=2"), "poly:0,1,1", [1, 0], [1, 0])
Fraction(95, 16)
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .counts import double_factorial, isserlis_count
from .embed import aggregate, embed_batch, evaluate_factors
from .expand import (
    OperatorGraph,
    count_operator_graphs,
    iter_operator_graphs,
    layer_dag,
)
from .pair import PairingSpace, count_pairings, iter_partitions
from .spec import Activation, SpecError, parse_activation, parse_ensemble, parse_number

__all__ = ["DEFAULT_LIMIT", "graph_terms", "tree_values", "estimate_pairings", "leading_covariance", "leading_ntk",
           "truncated_graph_sums"]

DEFAULT_LIMIT = 5_000_000
CHUNK = 1 << 16


from .errors import TooLarge


# --------------------------------------------------------------------------- per graph
def graph_terms(graph: OperatorGraph, ensemble="gaussian", *, marked: bool = False, xp=None, chunk: int = CHUNK,
                census: dict | None = None, start: int = 0, stop: int | None = None) -> dict:
    """Exact terms of one graph: ``{(n_exponent, surface, factors): weight}`` summed over all
    pairings (Gaussian/complex) or cumulant partitions (other real ensembles).

    ``start``/``stop`` restrict a Wick-pairing sum to a rank range (the unit of distributed work);
    sums over disjoint ranges add up to the whole.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph (:mod:`graphexp_db.expand`).
    ensemble : str or Ensemble
        Weight ensemble; GUE graphs (``rule == "hermitian"``) are always Wick-paired.
    marked : bool
        Weight each pairing by its number of crossing pairs (the NTK's marked graphs).
    xp : module, optional
        ``numpy`` or ``cupy`` for the embedding of the pairings (default: numpy, compiled kernel).
    chunk : int
        Pairings unranked per batch (pure-Python route only).
    census : dict, optional
        Receives the bare number of pairings per ``(n_exponent, surface)``.
    start, stop : int
        Rank range ``[start, stop)`` of the Wick pairings (``None``: to the end).

    Returns
    -------
    dict
        ``{(n_exponent, surface, factors): Fraction}``: the exact weight of the terms N^n_exponent with
        that surface code (``S<g>``: orientable of genus g; ``N<k>``: non-orientable; ``X<k>``: cumulant
        partitions) and factor monomial (a tuple of ``(symbol, power)``; ``()`` for words).

    Examples
    --------
    (1/N) E tr H^4 = 2 + 1/N^2 for the GUE; tr H^6 gives the Harer--Zagier numbers 5 and 10, and two
    rank ranges add up to the whole:

    >>> from graphexp_db.expand import gue_graph
    >>> terms = graph_terms(gue_graph(2))
    >>> sorted((e, s, int(w)) for (e, s, _), w in terms.items())
    [(-2, 'S1', 1), (0, 'S0', 2)]
    >>> census = {}
    >>> sorted(graph_terms(gue_graph(3), census=census).values()), census
    ([Fraction(5, 1), Fraction(10, 1)], {(-2, 'S1'): 10, (0, 'S0'): 5})
    >>> low, high = graph_terms(gue_graph(3), stop=7), graph_terms(gue_graph(3), start=7)
    >>> sorted(low[k] + high[k] for k in low)
    [Fraction(5, 1), Fraction(10, 1)]
    >>> sorted(graph_terms(gue_graph(3), "rademacher").values()) == [5, 10]   # GUE ignores the ensemble
    True
    """
    ens = parse_ensemble(ensemble)
    if marked and not ens.is_gaussian:
        # the NTK marking counts pairs that cross between the two trees; a cumulant block of four or
        # more letters has no such count
        raise SpecError(f"the pairing route's NTK mean needs Gaussian pairings; with {ens} weights use the layer recursion")
    out: dict = defaultdict(Fraction)
    if ens.is_gaussian or graph.rule == "hermitian":
        space = PairingSpace(graph, ens)
        stop = space.total if stop is None else min(stop, space.total)
        if space.total < 2**62:  # the compiled kernel (numba / CUDA) unranks and embeds in one pass
            from .genus_kernel import pairing_terms

            return pairing_terms(graph, ens, marked=marked, census=census, start=start, stop=stop, xp=xp)
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


# --------------------------------------------------------------------------- trees
def tree_values(arch, activation: Activation, xs: list[list[Fraction]], tags=("x", "y")) -> dict:
    """Exact values of the symbols of tree graphs: c_k, sw, sb, and the input moments
    ``S<a>_<b> = sum_i x_i^a y_i^b / d^((a+b)/2)`` (computed lazily).

    Parameters
    ----------
    arch : MLPSpec or DagSpec
        The architecture (``sw``, ``sb`` and the layer DAG are read from it).
    activation : Activation
        A polynomial activation; ``c<k>`` is its k-th coefficient (0 beyond the degree).
    xs : list of list of Fraction
        One input (x = y) or two, of equal dimension d.
    tags : tuple of str
        The input tags of the two inputs (unused by the lookup; kept for the callers).

    Returns
    -------
    dict
        A mapping from symbol to Fraction that fills in ``c<k>`` and ``S<a>_<b>`` on first access
        (an odd ``a + b`` raises ``ValueError``; other unknown symbols ``KeyError``).

    Examples
    --------
    >>> from graphexp_db.spec import parse_activation, parse_arch
    >>> v = tree_values(parse_arch("mlp:L=1,sw=3/2"), parse_activation("poly:0,1,1"),
    ...                 [[Fraction(1), Fraction(2)], [Fraction(1), Fraction(-1)]])
    >>> v["sw"], v["c2"], v["c5"], v["S1_1"], v["S2_2"]       # S1_1 = (1 - 2)/2, S2_2 = (1 + 4)/4
    (Fraction(3, 2), Fraction(1, 1), Fraction(0, 1), Fraction(-1, 2), Fraction(5, 4))
    """
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

    Parameters
    ----------
    arch : MLPSpec or DagSpec
        The architecture (``sw``, ``sb`` and the layer DAG are read from it).
    quantity : str
        ``covariance``, ``ntk`` or ``fourpoint``.
    activation : str or Activation
        A polynomial activation (its degree bounds the graph orders; zero coefficients prune trees).

    Returns
    -------
    int
        The number of Wick pairings the exact graph sum will enumerate.

    Raises
    ------
    TooLarge
        When the operator graphs alone number over 200,000.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> estimate_pairings(parse_arch("mlp:L=1"), "covariance", "poly:0,1")
    1
    >>> estimate_pairings(parse_arch("mlp:L=1"), "fourpoint", "identity")   # four copies of W2 W1 x: 3 x 3 pairings
    9
    """
    from collections import Counter

    from .expand import _child_terms

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


def _tree_series(arch, quantity, activation, xs, *, ensemble="gaussian", marked=False, limit=DEFAULT_LIMIT, xp=None,
                 progress=None):
    act = _poly(activation)
    layer_dag(arch)  # validates the architecture kind
    values = tree_values(arch, act, xs)
    size = estimate_pairings(arch, quantity, act)
    if size > limit:
        raise TooLarge(f"{quantity} of {arch} with {act} needs about {size:,} pairings, over the limit {limit:,} (use --force)")
    series: dict[int, Fraction] = defaultdict(Fraction)
    for g in _graphs(arch, quantity, act, values):
        for (e, _s, factors), w in graph_terms(g, ensemble, marked=marked, xp=xp).items():
            series[-e] += w * evaluate_factors(factors, values)
        if progress is not None:
            progress(count_pairings(g))
    return {j: v for j, v in sorted(series.items()) if v != 0}


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
    out = []
    for j in range(min(a, b) + 1):
        if (a - j) % 2 or (b - j) % 2:
            continue
        count = isserlis_count(a, b, j)
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

    Parameters
    ----------
    arch : MLPSpec or DagSpec
        The architecture (``sw``, ``sb`` and the layer DAG are read from it).
    activation : str or Activation
        An activation with a Taylor series (``sin``, ``erf``, polynomials).
    x, y : sequence
        The two inputs (exact numbers: ints, Fractions, decimal strings; floats are read as the
        decimals they print as).
    orders : iterable of int
        The truncation degrees D.

    Returns
    -------
    list of (int, Fraction, Fraction)
        ``(D, nngp_D, ntk_D)`` per degree, exact.

    Examples
    --------
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

    Parameters
    ----------
    arch : MLPSpec or DagSpec
        The architecture (``sw``, ``sb`` and the layer DAG are read from it).
    activation : str or Activation
        A polynomial activation.
    x, y : sequence
        The two inputs (exact numbers: ints, Fractions, decimal strings; floats are read as the
        decimals they print as).

    Returns
    -------
    Fraction
        The infinite-width kernel K(L+1)(x, y), exactly.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> leading_covariance(parse_arch("mlp:L=2"), "poly:0,1,1", [1, 0], [1, 0])
    Fraction(95, 16)
    """
    return _leading(arch, activation, x, y).a


def leading_ntk(arch, activation, x, y) -> Fraction:
    """The N^0 term of the expected NTK: leading pairings weighted by their crossing pairs.

    Parameters
    ----------
    arch : MLPSpec or DagSpec
        The architecture (``sw``, ``sb`` and the layer DAG are read from it).
    activation : str or Activation
        A polynomial activation.
    x, y : sequence
        The two inputs (exact numbers: ints, Fractions, decimal strings; floats are read as the
        decimals they print as).

    Returns
    -------
    Fraction
        The infinite-width NTK T(L+1)(x, y), exactly.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> leading_ntk(parse_arch("mlp:L=2"), "identity", [1, 0], [1, 0])  # 3 K1, K1 = 1/2
    Fraction(3, 2)
    """
    return _leading(arch, activation, x, y).b


