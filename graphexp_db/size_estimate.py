"""Size of an expansion before anything is built: :func:`estimate_expansion` and :func:`check_size`.

The CLI and the fill refuse an expansion over its size limit *before* building anything: these
estimates are closed forms or O(order * nodes) float arithmetic (log-gamma), never an enumeration
of graphs, and answer in well under a second whatever the order (issue 13.3).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .graph import QUANTITIES, LayerDag, _max_degree, _root_terms, layer_dag
from .spec import MLPSpec, SpecError

#: above this many operator graphs the pairing total is not summed (the graph count refuses first)
ESTIMATE_GRAPH_CAP = 200_000


@dataclass(frozen=True)
class SizeEstimate:
    """What an expansion would enumerate: operator graphs and pairings (or cumulant partitions).

    ``n_graphs`` and ``n_pairings`` are ``int`` when exact and ``float`` when approximate (``inf``
    beyond floating point); ``n_pairings`` is ``None`` when not estimated (too many graphs).
    ``pairings_bound`` says how ``n_pairings`` relates to the catalogue's count of canonical
    classes: ``"exact"``, ``"upper"`` (ordered tuples of trees, before isomorphic ones merge, at
    most ``merge_factor`` to one) or ``"lower"`` (a partial sum, or non-Gaussian partitions
    bounded below by the Wick pairings).
    """

    n_graphs: int | float
    n_pairings: int | float | None
    pairings_bound: str = "exact"
    merge_factor: int = 1

    def pairings_at_least(self) -> int | float | None:
        """A lower bound of the catalogue's pairing total (``None`` when not estimated)."""
        if self.n_pairings is None:
            return None
        if self.pairings_bound == "upper":
            n = self.n_pairings
            return -(-n // self.merge_factor) if isinstance(n, int) else n / self.merge_factor
        return self.n_pairings

    def describe(self) -> str:
        """One phrase for error messages, e.g. ``'about 1.3e+05 operator graphs'``."""
        parts = [f"{_fmt(self.n_graphs)} operator graph{'s' if self.n_graphs != 1 else ''}"]
        low = self.pairings_at_least()
        if low is not None:
            word = "" if self.pairings_bound == "exact" else "at least "
            parts.append(f"{word}{_fmt(low)} pairings")
        return " and ".join(parts)


def estimate_expansion(arch, quantity: str, order: int, *, p: int | None = None, ensemble="gaussian",
                       graph_cap: int = ESTIMATE_GRAPH_CAP, stop_above: int | None = None) -> SizeEstimate:
    """Sizes of an expansion from counting alone: no operator graph is built.

    Trace words (``trace``, ``gue``, ``jacobian``) are one graph whose pairings are a closed
    form (``(2k-1)!!`` per matrix, ``k!`` for complex weights), evaluated with log-gamma when
    large.  Tree quantities count vertex types by stars and bars (floats beyond 2**53) and, when
    there are at most :data:`ESTIMATE_GRAPH_CAP` graphs, sum the pairings of every ordered tuple of
    root trees from the edge counts of each tree per matrix (grouped by equal count vectors).

    Parameters
    ----------
    arch : spec or None
    quantity : str
    order : int
    p : int, optional
        Ginibre factors (``trace``).
    ensemble : str, optional
    graph_cap : int, optional
        Above this many graphs the pairings are not summed (``n_pairings`` is ``None``).
    stop_above : int, optional
        Once a lower bound of the pairings passes this, stop and return it (``"lower"``).

    Returns
    -------
    SizeEstimate

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> estimate_expansion(None, "gue", 3)
    SizeEstimate(n_graphs=1, n_pairings=15, pairings_bound='exact', merge_factor=1)
    >>> e = estimate_expansion(None, "gue", 10**6)
    >>> e.n_pairings == float("inf"), e.describe()
    (True, '1 operator graph and inf pairings')
    >>> estimate_expansion(None, "trace", 3, p=2, ensemble="complex").n_pairings == 6 ** 2
    True
    >>> e = estimate_expansion(parse_arch("mlp:L=1"), "covariance", 1)
    >>> e.n_graphs, e.n_pairings, e.describe()  # the 10 canonical classes have 2 pairings
    (12, 2, '12 operator graphs and at least 1 pairings')
    >>> estimate_expansion(parse_arch("mlp:L=2"), "covariance", 2**31).n_graphs
    inf
    """
    from .spec import parse_ensemble

    ens = parse_ensemble(ensemble)
    if order < (0 if quantity in ("covariance", "ntk", "fourpoint") else 1):
        raise SpecError(f"order must be >= 1 (>= 0 for tree quantities), got {order}")
    if quantity in ("trace", "gue", "jacobian"):
        if quantity == "gue":
            n_mats, k, complex_ = 1, order, False  # 2n edges of H
        elif quantity == "trace":
            n_mats, k, complex_ = (p or 1), order, ens.is_complex
        else:
            if not isinstance(arch, MLPSpec):
                raise SpecError("jacobian trace words need an mlp architecture (square net)")
            n_mats, k, complex_ = arch.L + 1, order, False
        log_one = _log_factorial(k) if complex_ else _log_double_factorial_odd(2 * k - 1)
        n = _from_log(n_mats * log_one)
        bound = "exact" if ens.is_gaussian or quantity == "gue" or complex_ else "lower"
        return SizeEstimate(1, n, bound)
    if quantity not in ("covariance", "ntk", "fourpoint"):
        raise SpecError(f"unknown quantity {quantity!r} (expected one of {', '.join(QUANTITIES)})")
    dag = layer_dag(arch)
    n_graphs = _approx_graphs(dag, quantity, order)
    if not n_graphs <= graph_cap:
        return SizeEstimate(n_graphs, None, "upper")
    # isomorphic glued graphs differ by a permutation of their trees: ordered pairs merge at most
    # two by two; the four trees of fourpoint are already taken as multisets
    merge = 2 if quantity != "fourpoint" else 1
    total, bound = _pairings_of_order(dag, quantity, order, None if stop_above is None else stop_above * merge)
    return SizeEstimate(n_graphs, total, bound, merge_factor=merge if bound == "upper" else 1)


#: trace words longer than this many letters are refused without --force (the word is built)
EDGE_LIMIT = 100_000


def check_size(arch, quantity: str, order: int, *, p: int | None = None, ensemble="gaussian", limit: int = 5_000_000,
               graph_limit: int = 200_000, edge_limit: int = EDGE_LIMIT) -> SizeEstimate:
    """Refuse an expansion over its size limits before anything is built; return its estimate.

    Raises
    ------
    TooLarge
        One line stating the estimate, the limit and ``--force``: more than ``graph_limit``
        operator graphs, at least ``limit`` pairings, or a trace word over ``edge_limit`` letters.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> check_size(parse_arch("mlp:L=1"), "covariance", 2).n_graphs
    33
    >>> check_size(None, "gue", 10**6)
    Traceback (most recent call last):
    ...
    graphexp_db.errors.TooLarge: gue order 1000000 is a word of 2,000,000 letters, over the limit 100,000 (use --force)
    """
    from .errors import TooLarge

    what = f"{quantity} order {order}" + (f" of {arch}" if arch is not None and quantity not in ("trace", "gue") else "")
    if quantity in ("trace", "gue", "jacobian"):
        per_k = (p or 1) if quantity == "trace" else 1 if quantity == "gue" else (arch.L + 1 if isinstance(arch, MLPSpec) else 1)
        letters = 2 * order * per_k
        if letters > edge_limit:
            raise TooLarge(f"{what} is a word of {letters:,} letters, over the limit {edge_limit:,} (use --force)")
    est = estimate_expansion(arch, quantity, order, p=p, ensemble=ensemble, graph_cap=graph_limit, stop_above=limit)
    if est.n_graphs > graph_limit:
        raise TooLarge(f"{what} has {est.describe()} (estimated before building them), over the limit "
                       f"{graph_limit:,} graphs (use --force)")
    low = est.pairings_at_least()
    if low is not None and low > limit:
        raise TooLarge(f"{what} needs {est.describe()} (estimated before building them), over the limit "
                       f"{limit:,} pairings (use --force)")
    return est


def _fmt(x) -> str:
    if isinstance(x, int) and abs(x) < 10**15:
        return f"{x:,}"
    x = float(x)
    return "inf" if math.isinf(x) else f"about {x:.2g}"


def _log_factorial(n: int) -> float:
    return math.lgamma(n + 1)


def _log_double_factorial_odd(m: int) -> float:
    # m!! for odd m = (m+1)! / (2^((m+1)/2) ((m+1)/2)!)
    if m <= 0:
        return 0.0
    h = (m + 1) // 2
    return math.lgamma(2 * h + 1) - h * math.log(2) - math.lgamma(h + 1)


def _from_log(log_value: float) -> int | float:
    """exp(log_value), exact (rounded) when below 2**50, a float or inf beyond."""
    if log_value < 50 * math.log(2):
        return int(round(math.exp(log_value)))
    try:
        return math.exp(log_value)
    except OverflowError:
        return float("inf")


def _approx_comb(n, k: int):
    """C(n + k, k) exactly for small arguments, else as a float from log-gamma (inf when huge)."""
    if isinstance(n, int) and n < 10**6 and k < 10**4:
        return math.comb(n + k, k)
    n = float(n)
    if math.isinf(n):
        return float("inf")
    small, big = min(n, float(k)), max(n, float(k))
    if small <= 64:  # sum of logs: no cancellation between two huge log-gammas
        log_c = sum(math.log(big + i) for i in range(1, int(small) + 1)) - math.lgamma(small + 1)
    elif big / small < 1e10:
        log_c = math.lgamma(big + small + 1) - math.lgamma(big + 1) - math.lgamma(small + 1)
    else:  # big >> small: log C = small * log(big) - log(small!) + O(small^2 / big)
        log_c = small * math.log(big) - math.lgamma(small + 1)
    try:
        return math.exp(log_c) if log_c < 700 else float("inf")
    except OverflowError:
        return float("inf")


def _approx_vertex_types(dag: LayerDag, D: int) -> list:
    """count_vertex_types for every node (float when large), one pass in topological order."""
    counts: list = [0] * len(dag.parents)
    for u in range(1, len(dag.parents)):
        n_terms = int(dag.bias) + sum(1 if w == 0 else counts[w] for w in dag.parents[u])
        counts[u] = _approx_comb(n_terms, D)
    return counts


def _approx_graphs(dag: LayerDag, quantity: str, order: int):
    def n_roots(D: int):
        if D < 0:
            return 0
        counts = _approx_vertex_types(dag, D)
        return int(dag.bias) + sum(1 if w == 0 else counts[w] for w in dag.parents[dag.sink])

    def n_graphs(D: int):
        if D < 0:
            return 0
        r = n_roots(D)
        if quantity == "fourpoint":
            return _approx_comb(r - 1, 4) if isinstance(r, int) else (float(r) ** 4 / 24 if r < 1e75 else float("inf"))
        return r * r if isinstance(r, int) else (float(r) ** 2 if r < 1e150 else float("inf"))

    hi, lo = n_graphs(order), n_graphs(order - 1)
    if isinstance(hi, int) and isinstance(lo, int):
        return hi - lo
    return float(hi) - float(lo) if not math.isinf(float(hi)) else float("inf")


def _pairings_of_order(dag: LayerDag, quantity: str, D: int, stop_above=None) -> tuple[int, str]:
    """Pairings summed over every ordered tuple of root trees of order exactly ``D``.

    Each tree is reduced to its vector of edge counts per matrix; tuples are summed by vector
    (trees with equal vectors give equal pairing counts), so no graph is glued or canonicalised.
    Tuples of one repeated tree vector always pair (every count is even): their sum, a lower
    bound computed first in O(trees), is returned alone (``"lower"``) when over ``stop_above``.
    Otherwise the full sum is returned (``"upper"``: isomorphic tuples merge in the catalogue).
    """
    from .counts import double_factorial

    vec_cache: dict = {}

    def vec(term) -> tuple:
        if term[0] == "b":
            return ((f"b{term[1]}", 1),)
        _, w, u, sub = term
        c: Counter = Counter({dag.mat(w, u): 1})
        if w != 0:
            key = (w, sub)
            if key not in vec_cache:
                acc: Counter = Counter()
                for child in sub:
                    acc.update(dict(vec(child)))
                vec_cache[key] = tuple(sorted(acc.items()))
            c.update(dict(vec_cache[key]))
        return tuple(sorted(c.items()))

    def pairings(v) -> int:
        out = 1
        for _mat, n in v:
            if n % 2:
                return 0
            out *= double_factorial(n - 1)
        return out

    n_trees = 4 if quantity == "fourpoint" else 2
    all_vec: Counter = Counter()
    low_vec: Counter = Counter()  # trees of order < D
    top_vec: Counter = Counter()  # trees of order exactly D
    for t in _root_terms(dag, D):
        v = vec(t)
        all_vec[v] += 1
        if _max_degree(t) < D:
            low_vec[v] += 1
        else:
            top_vec[v] += 1
    repeated = 0
    for v, c in top_vec.items():
        ways = c * c if n_trees == 2 else math.comb(c + 3, 4)
        repeated += ways * pairings(tuple((mat, n_trees * n) for mat, n in v))
    if stop_above is not None and repeated > stop_above:
        return repeated, "lower"
    total = _tuple_pairings(all_vec, n_trees, pairings) - (_tuple_pairings(low_vec, n_trees, pairings) if low_vec else 0)
    return total, "upper"


def _tuple_pairings(by_vec: Counter, n_trees: int, pairings) -> int:
    """Sum of pairings over ordered pairs (2 trees) or multisets of 4 trees, by count vectors."""

    def scaled(j: int) -> Counter:  # the power sum p_j: every tree's vector times j
        return Counter({tuple((mat, j * n) for mat, n in v): c for v, c in by_vec.items()})

    def conv(a: Counter, b: Counter) -> Counter:
        out: Counter = Counter()
        for va, ca in a.items():
            for vb, cb in b.items():
                acc = dict(va)
                for mat, n in vb:
                    acc[mat] = acc.get(mat, 0) + n
                out[tuple(sorted(acc.items()))] += ca * cb
        return out

    if n_trees == 4:
        # multisets of 4 trees (Polya): (p1^4 + 6 p1^2 p2 + 3 p2^2 + 8 p1 p3 + 6 p4) / 24
        p1, p2 = scaled(1), scaled(2)
        p11 = conv(p1, p1)
        terms = [(1, conv(p11, p11)), (6, conv(p11, p2)), (3, conv(p2, p2)), (8, conv(p1, scaled(3))), (6, scaled(4))]
        return sum(w * sum(c * pairings(v) for v, c in dist.items()) for w, dist in terms) // 24
    return sum(c * pairings(v) for v, c in conv(scaled(1), scaled(1)).items())
