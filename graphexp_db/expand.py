"""Tree expansion of a network into operator graphs (MISSION.md "mathematics" 1, F2).

Writing the activation as its Taylor series phi(z) = sum_k c_k z^k, every hidden
preactivation becomes a sum over rooted trees: a vertex at layer node ``u`` with ``k``
children carries ``c_k`` (a Hadamard power: the children share the vertex's index),
each child edge is an entry of a weight matrix ``W[w->u]`` (towards a vertex of node
``w``) or a bias entry ``b[u]``; leaves at node 0 are input coordinates.  Products of
outputs glue trees at their root (the output index), so

* ``covariance``  E[f(x) f(y)]: two trees (leaves coloured x and y) glued at the root;
* ``ntk``         the same glued pair, an edge of each tree marked (derivative in a weight):
  in expectation a marked pair is a Wick pair that crosses the two trees, so an NTK term is a
  covariance pairing counted once per crossing pair;
* ``fourpoint``   E[f(x)^4]: four trees glued at the root;
* ``jacobian``    tr[(J J^T)^k]: a cyclic word in W_{L+1}, D_L, ..., D_1, W_1 and transposes,
  D_l = diag(phi'(h_l)) kept as marks on the index between two letters;
* ``trace``       tr[(W_p...W_1 W_1^T...W_p^T)^k] for Ginibre products;
* ``gue``         tr[H^{2n}].

The **order** of an expansion is documented in :data:`ORDER_DOC`: for tree quantities it is the
largest Taylor degree used at a vertex (order D is exact for polynomial activations of degree
<= D and is the degree-D truncation otherwise); for trace words it is k (``gue``: n).

Every graph is a list of index *slots* and *edges* (matrix entries, each with a row slot and a
column slot).  That one representation serves pairing, embedding and canonical forms; it and the
layer DAG live in :mod:`graphexp_db.graph`, the size estimates in :mod:`graphexp_db.size_estimate`
(both re-exported here).

Examples
--------
>>> from graphexp_db.spec import parse_arch
>>> graphs = list(iter_operator_graphs(parse_arch("mlp:L=1"), "covariance", 1))
>>> len(graphs) == count_operator_graphs(parse_arch("mlp:L=1"), "covariance", 1) == 12
True
>>> g = trace_word_graph(p=1, k=2)
>>> [e.mat for e in g.edges], g.n_edges
(['W1', 'W1', 'W1', 'W1'], 4)
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from fractions import Fraction

from .graph import (
    ORDER_DOC,
    QUANTITIES,
    QUANTITY_ABBREV,
    Edge,
    LayerDag,
    OperatorGraph,
    Slot,
    _child_terms,
    _max_degree,
    _root_terms,
    _tree_sym,
    count_vertex_types,
    layer_dag,
    shape_of,
)
from .size_estimate import EDGE_LIMIT, SizeEstimate, check_size, estimate_expansion
from .spec import MLPSpec, SpecError

__all__ = [
    "ORDER_DOC",
    "QUANTITIES",
    "QUANTITY_ABBREV",
    "Slot",
    "Edge",
    "OperatorGraph",
    "iter_operator_graphs",
    "count_operator_graphs",
    "SizeEstimate",
    "estimate_expansion",
    "check_size",
    "EDGE_LIMIT",
    "trace_word_graph",
    "gue_graph",
    "jacobian_graph",
    "layer_dag",
    "shape_of",
]


_REEXPORTED = (_child_terms,)  # graph_sums imports it from here


# --------------------------------------------------------------------------- trees
def iter_operator_graphs(arch, quantity: str, order: int, *, p: int | None = None):
    """Yield the operator graphs of ``quantity`` at ``order`` for ``arch``, in a canonical order.

    Parameters
    ----------
    arch : MLPSpec | DagSpec | None
        The architecture (ignored for ``trace`` and ``gue``).
    quantity : str
        One of :data:`QUANTITIES`.
    order : int
        See :data:`ORDER_DOC`.
    p : int, optional
        Number of Ginibre factors for ``trace``.

    Yields
    ------
    OperatorGraph

    See Also
    --------
    count_operator_graphs : the independent counter.
    """
    if order < (0 if quantity in ("covariance", "ntk", "fourpoint") else 1):
        raise SpecError(f"order must be >= 1 (>= 0 for tree quantities), got {order}")
    if quantity == "gue":
        yield gue_graph(order)
        return
    if quantity == "trace":
        yield trace_word_graph(p or 1, order)
        return
    if quantity == "jacobian":
        if not isinstance(arch, MLPSpec):
            raise SpecError("jacobian trace words need an mlp architecture (square net)")
        yield jacobian_graph(arch.L, order)
        return
    if quantity not in ("covariance", "ntk", "fourpoint"):
        raise SpecError(f"unknown quantity {quantity!r} (expected one of {', '.join(QUANTITIES)})")
    dag = layer_dag(arch)
    roots = _root_terms(dag, order)
    n_trees = 4 if quantity == "fourpoint" else 2
    combos: Iterable[tuple[tuple, ...]]
    if quantity == "fourpoint":
        combos = itertools.combinations_with_replacement(roots, 4)
    else:
        combos = itertools.product(roots, repeat=2)
    for combo in combos:
        if max(_max_degree(t) for t in combo) != order:
            continue
        coeff = math.prod(_term_sym(t) for t in combo)
        if n_trees == 4:
            coeff *= math.factorial(4)
            for m in Counter(combo).values():
                coeff //= math.factorial(m)
        yield _glue(dag, quantity, order, combo, coeff)


def count_operator_graphs(arch, quantity: str, order: int) -> int:
    """Number of operator graphs, counted without building them.

    Uses the stars-and-bars count of vertex types with degree <= D minus those with degree <= D-1.

    >>> from graphexp_db.spec import parse_arch
    >>> count_operator_graphs(parse_arch("mlp:L=2"), "covariance", 2)
    1333
    """
    if quantity in ("gue", "trace", "jacobian"):
        return 1
    dag = layer_dag(arch)

    def n_roots(D: int) -> int:
        return int(dag.bias) + sum(1 if w == 0 else count_vertex_types(dag, w, D) for w in dag.parents[dag.sink])

    def n_graphs(D: int) -> int:
        if D < 0:
            return 0
        r = n_roots(D)
        return math.comb(r + 3, 4) if quantity == "fourpoint" else r * r

    return n_graphs(order) - n_graphs(order - 1)


def _term_sym(term) -> int:
    return _tree_sym(term[3]) if term[0] == "W" else 1


def _glue(dag: LayerDag, quantity: str, order: int, roots: tuple, coeff: int) -> OperatorGraph:
    slots: list[Slot] = [Slot("out", dag.sink)]
    edges: list[Edge] = []
    mono: Counter = Counter()
    rational = Fraction(1)
    one = None
    tags = ("x", "y") if quantity != "fourpoint" else ("x",) * 4

    def add_term(term, parent: int, tree: int) -> None:
        nonlocal one, rational
        if term[0] == "b":
            if one is None:
                slots.append(Slot("one", 0))
                one = len(slots) - 1
            edges.append(Edge(f"b{term[1]}", parent, one, tree=tree, half_N=False))
            mono["sb"] += 1
            return
        _, w, u, sub = term
        mono["sw"] += 1
        rational *= dag.edge_scale2(w, u)  # per edge; its square root (a pair's factor) is taken below
        if w == 0:
            slots.append(Slot("in", 0, tag=tags[tree]))
            edges.append(Edge(dag.mat(w, u), parent, len(slots) - 1, tree=tree, half_N=False))
            return
        slots.append(Slot("N", w))
        me = len(slots) - 1
        edges.append(Edge(dag.mat(w, u), parent, me, tree=tree, half_N=True))
        mono[f"c{len(sub)}"] += 1
        for child in sub:
            add_term(child, me, tree)

    for tree, term in enumerate(roots):
        add_term(term, 0, tree)
    # rational collects 1/|in(u)| once per edge; a pairing pairs edges of one matrix, so the true
    # factor is its square root, which is exact: sqrt(prod over edges) = prod over pairs.
    rational = _sqrt_fraction(rational)
    edges_t = tuple(edges)
    return OperatorGraph(
        shape=dag.shape,
        quantity=quantity,
        order=order,
        slots=tuple(slots),
        edges=edges_t,
        coefficient=coeff,
        monomial=tuple(sorted(mono.items())),
        rational=rational,
        rule="real",
        key=roots,
    )


def _sqrt_fraction(q: Fraction) -> Fraction:
    n, d = math.isqrt(q.numerator), math.isqrt(q.denominator)
    if n * n == q.numerator and d * d == q.denominator:
        return Fraction(n, d)
    # an odd number of edges of some matrix: no pairing exists, the graph's sum is 0 anyway
    return Fraction(0)


# --------------------------------------------------------------------------- trace words
def _word_graph(shape: str, quantity: str, order: int, letters: list[tuple[str, bool, bool, int]], rule: str) -> OperatorGraph:
    """Cyclic word: letter a sits between slot a and slot a+1 (mod n).  letters: (mat, flip, conj, mark)."""
    n = len(letters)
    marks = [0] * n
    edges: list[Edge] = []
    for a, (mat, flip, conj, mark) in enumerate(letters):
        left, right = a, (a + 1) % n
        if mark:
            marks[right] = mark
        row, col = (right, left) if flip else (left, right)
        edges.append(Edge(mat, row, col, flip=flip, conj=conj))
    slots = tuple(Slot("N", 0, mark=m) for m in marks)
    return OperatorGraph(shape, quantity, order, slots, tuple(edges), 1, (), Fraction(1), rule, n_traces=1)


def trace_word_graph(p: int, k: int) -> OperatorGraph:
    """The word of tr[(W_p ... W_1 W_1^T ... W_p^T)^k] (2pk letters).

    >>> g = trace_word_graph(2, 1)
    >>> [(e.mat, e.flip) for e in g.edges]
    [('W2', False), ('W1', False), ('W1', True), ('W2', True)]
    """
    if p < 1 or k < 1:
        raise SpecError(f"trace words need p >= 1 and k >= 1, got p={p}, k={k}")
    block = [(f"W{i}", False, False, 0) for i in range(p, 0, -1)] + [(f"W{i}", True, True, 0) for i in range(1, p + 1)]
    return _word_graph(f"ginibre-p{p}", "trace", k, block * k, "real")


def gue_graph(n: int) -> OperatorGraph:
    """The word of tr[H^(2n)] (GUE: pairs identify row with column).

    >>> gue_graph(2).n_edges
    4
    """
    if n < 1:
        raise SpecError(f"gue order n must be >= 1, got {n}")
    return _word_graph("gue", "gue", n, [("H", False, False, 0)] * (2 * n), "hermitian")


def jacobian_graph(L: int, k: int) -> OperatorGraph:
    """The word of tr[(J J^T)^k], J = W_{L+1} D_L W_L ... D_1 W_1 (scales omitted).

    D_l sits on the index between W_{l+1} and W_l as a mark ``l``.

    >>> g = jacobian_graph(1, 1)
    >>> [(e.mat, e.flip) for e in g.edges], [s.mark for s in g.slots]
    ([('W2', False), ('W1', False), ('W1', True), ('W2', True)], [0, 1, 0, 1])
    """
    if k < 1:
        raise SpecError(f"k must be >= 1, got {k}")
    p = L + 1
    # J: W_p D_{p-1} W_{p-1} ... D_1 W_1 ; J^T: W_1^T D_1 W_2^T ... D_{p-1} W_p^T.
    # a letter's mark is the D on its right-hand slot.
    j_part = [(f"W{i}", False, False, i - 1) for i in range(p, 0, -1)]
    jt_part = [(f"W{i}", True, True, i if i < p else 0) for i in range(1, p + 1)]
    g = _word_graph(f"mlp-L{L}", "jacobian", k, (j_part + jt_part) * k, "real")
    return g.replace(monomial=(("sw", 2 * p * k),))
