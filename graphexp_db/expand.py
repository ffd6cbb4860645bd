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
column slot).  That one representation serves pairing, embedding and canonical forms.

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
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache

from .spec import DagSpec, MLPSpec, ResNetSpec, SpecError

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

ORDER_DOC = (
    "order: for covariance/ntk/fourpoint the largest Taylor degree k of the activation used at any "
    "vertex (graphs of order D are those whose maximal vertex out-degree is exactly D; orders <= D "
    "together are exact for polynomial activations of degree <= D); for jacobian and trace the power "
    "k in tr[(.)^k]; for gue the n in tr[H^(2n)]."
)
QUANTITIES = ("covariance", "ntk", "fourpoint", "jacobian", "trace", "gue")
QUANTITY_ABBREV = {"covariance": "cov", "ntk": "ntk", "fourpoint": "4pt", "jacobian": "jac", "trace": "tr", "gue": "gue"}


@dataclass(frozen=True)
class Slot:
    """An index slot.  ``kind``: ``N`` (hidden width), ``in`` (input coordinate, ``tag`` = x/y),
    ``out`` (the fixed output coordinate), ``one`` (the dummy column of a bias vector).
    ``node`` is the layer node; ``mark`` the layer of a D_l = diag(phi'(h_l)) sitting on the slot."""

    kind: str
    node: int = 0
    tag: str = ""
    mark: int = 0


@dataclass(frozen=True)
class Edge:
    """A matrix entry ``mat[row, col]``.  ``flip``: the letter is transposed (trace words);
    ``conj``: the letter is conjugated (complex pairings pair conj with non-conj);
    ``tree``: which glued tree it belongs to; ``half_N``: carries 1/sqrt(N)."""

    mat: str
    row: int
    col: int
    flip: bool = False
    conj: bool = False
    tree: int = 0
    half_N: bool = True


@dataclass(frozen=True)
class OperatorGraph:
    """An operator graph: slots, edges and the coefficient it carries in the expansion.

    ``coefficient`` is the integer multiplicity (symmetry factor) of the graph in the expansion;
    ``monomial`` the symbolic weight as ``((symbol, power), ...)`` with symbols ``c<k>`` (activation
    coefficients), ``sw``, ``sb``; ``rational`` an exact factor (1/|in(v)| of DAG nodes).
    ``rule`` is ``real`` (row~row, col~col), ``hermitian`` (GUE: row~col) or per-ensemble.
    """

    shape: str
    quantity: str
    order: int
    slots: tuple[Slot, ...]
    edges: tuple[Edge, ...]
    coefficient: int = 1
    monomial: tuple[tuple[str, int], ...] = ()
    rational: Fraction = Fraction(1)
    rule: str = "real"
    n_traces: int = 0
    key: tuple = field(default=(), compare=False)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    @property
    def is_word(self) -> bool:
        return self.n_traces > 0

    def replace(self, **kw) -> OperatorGraph:
        return replace(self, **kw)

    def to_json(self) -> dict:
        """A plain-JSON description (slots, edges, coefficient, monomial)."""
        return {
            "shape": self.shape,
            "quantity": self.quantity,
            "order": self.order,
            "slots": [[s.kind, s.node, s.tag, s.mark] for s in self.slots],
            "edges": [[e.mat, e.row, e.col, int(e.flip), int(e.conj), e.tree] for e in self.edges],
            "coefficient": self.coefficient,
            "monomial": [list(m) for m in self.monomial],
            "rational": str(self.rational),
            "rule": self.rule,
            "n_traces": self.n_traces,
        }


# --------------------------------------------------------------------------- layer DAGs
@dataclass(frozen=True)
class LayerDag:
    """Nodes 0..n-1, node 0 the input, ``sink`` the output; ``parents[v]`` = in(v).

    ``scale2[(w, u)]`` is the squared extra scale of an edge w -> u besides sw/sqrt(width_w)
    (1/|in(u)| for a DAG, 1/L for ResNet branches); ``shared`` names matrices by their source node
    only (ResNet: W_m feeds every later layer through the skip connections); ``bias`` says whether
    nodes carry biases.
    """

    parents: tuple[tuple[int, ...], ...]
    sink: int
    shape: str
    scale2: tuple[tuple[tuple[int, int], Fraction], ...] = ()
    shared: bool = False
    bias: bool = True

    def edge_scale2(self, w: int, u: int) -> Fraction:
        for key, val in self.scale2:
            if key == (w, u):
                return val
        return Fraction(1, len(self.parents[u]))

    def mat(self, w: int, u: int) -> str:
        return f"W{w + 1}" if self.shared else f"W{w}>{u}"

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(v for v in range(1, len(self.parents)) if v != self.sink)


def layer_dag(arch: MLPSpec | DagSpec | ResNetSpec) -> LayerDag:
    """The layer DAG of an MLP (a chain 0 -> 1 -> ... -> L+1), a ResNet (every layer feeds every
    later one through the skips, branches scaled by 1/sqrt(L), no biases) or a DAG spec.

    >>> from graphexp_db.spec import parse_arch
    >>> layer_dag(parse_arch("mlp:L=2")).parents
    ((), (0,), (1,), (2,))
    """
    if isinstance(arch, MLPSpec):
        n = arch.L + 2
        return LayerDag(tuple(() if v == 0 else (v - 1,) for v in range(n)), n - 1, arch.shape)
    if isinstance(arch, DagSpec):
        return LayerDag(tuple(arch.parents(v) for v in range(arch.n_nodes)), arch.sink, arch.shape)
    if isinstance(arch, ResNetSpec):
        if arch.L is None:
            raise SpecError("resnet:L=inf is the ODE limit; operator graphs need a finite depth L")
        # phi-vertices at nodes 1..L apply phi to h_l = h_1 + sum_{m=2..l} branch_m; the sink is h_{L+1}.
        L = arch.L
        n = L + 2
        parents = tuple(tuple(range(v)) for v in range(n))
        scale2 = tuple(((w, u), Fraction(1) if w == 0 else Fraction(1, L)) for u in range(1, n) for w in range(u))
        return LayerDag(parents, n - 1, arch.shape, scale2, shared=True, bias=False)
    raise SpecError(f"cannot expand architecture {arch!r}")


def shape_of(arch, quantity: str, p: int | None = None) -> str:
    """Catalogue shape key: ``mlp-L2``, ``dag-1a2b3c4d``, ``ginibre-p2``, ``gue``."""
    if quantity == "gue":
        return "gue"
    if quantity == "trace":
        return f"ginibre-p{p}"
    return arch.shape


# --------------------------------------------------------------------------- trees
# A vertex type at node u is a sorted tuple of child terms; a child term is ("b", u) or
# ("W", w, u, t) with t a vertex type at node w (t = "x" at the input node 0).


def _child_terms(dag: LayerDag, u: int, D: int) -> list[tuple]:
    terms: list[tuple] = [("b", u)] if dag.bias else []
    for w in dag.parents[u]:
        if w == 0:
            terms.append(("W", 0, u, "x"))
        else:
            terms.extend(("W", w, u, t) for t in _vertex_types(dag, w, D))
    return terms


@lru_cache(maxsize=None)
def _vertex_types(dag: LayerDag, u: int, D: int) -> tuple[tuple, ...]:
    terms = _child_terms(dag, u, D)
    out: list[tuple] = []
    for k in range(D + 1):
        out.extend(itertools.combinations_with_replacement(terms, k))
    return tuple(out)


def _max_degree(term) -> int:
    """Largest vertex degree below a child term (``("b", u)`` or ``("W", w, u, t)``)."""
    if term[0] == "b" or term[3] == "x":
        return 0
    vtype = term[3]
    return max([len(vtype)] + [_max_degree(c) for c in vtype])


def _tree_sym(vtype) -> int:
    """Multinomial k!/prod m_i! of a vertex and, recursively, its children."""
    if vtype == "x":
        return 1
    sym = math.factorial(len(vtype))
    for m in Counter(vtype).values():
        sym //= math.factorial(m)
    for term in vtype:
        if term[0] == "W":
            sym *= _tree_sym(term[3])
    return sym


def count_vertex_types(dag: LayerDag, u: int, D: int) -> int:
    """Independent counter of vertex types at node ``u`` with degrees <= D (stars and bars).

    >>> count_vertex_types(layer_dag(MLPSpec(L=2)), 2, 2)
    36
    """
    n_terms = int(dag.bias) + sum(1 if w == 0 else count_vertex_types(dag, w, D) for w in dag.parents[u])
    # multisets of size <= D from n_terms kinds: sum_k C(n+k-1, k) = C(n+D, D) (hockey stick)
    return math.comb(n_terms + D, D)


def _root_terms(dag: LayerDag, D: int) -> list[tuple]:
    return _child_terms(dag, dag.sink, D)


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


# --------------------------------------------------------------------------- size estimates
# The CLI and the fill refuse an expansion over its size limit *before* building anything: these
# estimates are closed forms or O(order * nodes) float arithmetic (log-gamma), never an enumeration
# of graphs, and answer in well under a second whatever the order (issue 13.3).

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
