"""Operator graphs and layer DAGs: the data types every stage of the pipeline shares.

An :class:`OperatorGraph` is a list of index :class:`Slot` s and :class:`Edge` s (matrix entries,
each with a row slot and a column slot); a :class:`LayerDag` is the architecture seen as a DAG of
layer nodes, and its *vertex types* are the building blocks of the tree expansion of
:mod:`graphexp_db.expand` (also counted, without enumeration, by :mod:`graphexp_db.size_estimate`).

>>> from graphexp_db.spec import parse_arch
>>> dag = layer_dag(parse_arch("mlp:L=1"))
>>> dag.parents, dag.hidden, count_vertex_types(dag, 1, 2)
(((), (0,), (1,)), (1,), 6)
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache

from .spec import DagSpec, MLPSpec, Quantity, ResNetSpec, SpecError

__all__ = [
    "ORDER_DOC",
    "QUANTITIES",
    "QUANTITY_ABBREV",
    "Slot",
    "Edge",
    "OperatorGraph",
    "LayerDag",
    "layer_dag",
    "shape_of",
    "count_vertex_types",
]

ORDER_DOC = (
    "order: for covariance/ntk/fourpoint the largest Taylor degree k of the activation used at any "
    "vertex (graphs of order D are those whose maximal vertex out-degree is exactly D; orders <= D "
    "together are exact for polynomial activations of degree <= D); for jacobian and trace the power "
    "k in tr[(.)^k]; for gue the n in tr[H^(2n)]."
)
QUANTITIES = tuple(q.value for q in Quantity)
QUANTITY_ABBREV = {"covariance": "cov", "ntk": "ntk", "fourpoint": "4pt", "jacobian": "jac", "trace": "tr", "gue": "gue"}


@dataclass(frozen=True)
class Slot:
    """An index slot.  ``kind``: ``N`` (hidden width), ``in`` (input coordinate, ``tag`` = x/y),
    ``out`` (the fixed output coordinate), ``one`` (the dummy column of a bias vector).
    ``node`` is the layer node; ``mark`` the layer of a D_l = diag(phi'(h_l)) sitting on the slot.

    Parameters
    ----------
    kind : str
        ``"N"``, ``"in"``, ``"out"`` or ``"one"``.
    node : int, default 0
        The layer node the index belongs to.
    tag : str, default ""
        ``"x"`` or ``"y"`` for an input slot: which input it reads.
    mark : int, default 0
        l of a D_l on the slot (Jacobian words); 0 for none.

    Examples
    --------
    >>> s = Slot("in", node=0, tag="y")
    >>> s.kind, s.tag, s.mark, s == Slot("in", 0, "y", 0)
    ('in', 'y', 0, True)
    """

    kind: str
    node: int = 0
    tag: str = ""
    mark: int = 0


@dataclass(frozen=True)
class Edge:
    """A matrix entry ``mat[row, col]``.  ``flip``: the letter is transposed (trace words);
    ``conj``: the letter is conjugated (complex pairings pair conj with non-conj);
    ``tree``: which glued tree it belongs to; ``half_N``: carries 1/sqrt(N).

    Parameters
    ----------
    mat : str
        The matrix: ``W1``, ``W0>1`` (DAG edge 0 -> 1), ``b2`` (bias of node 2), ``H`` (GUE), ...
    row, col : int
        Positions of its row and column slots in the graph's ``slots``.
    flip : bool, default False
        The letter is transposed.
    conj : bool, default False
        The letter is conjugated.
    tree : int, default 0
        Index of the glued tree it belongs to (tree quantities).
    half_N : bool, default True
        The entry carries 1/sqrt(N) (weights from a width-N layer; biases do not).

    Examples
    --------
    >>> e = Edge("W1", 0, 1, flip=True)
    >>> (e.mat, e.row, e.col, e.flip, e.half_N)
    ('W1', 0, 1, True, True)
    """

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

    Parameters
    ----------
    shape : str
        Catalogue shape key (:func:`shape_of`): ``mlp-L2``, ``ginibre-p1``, ``gue``, ...
    quantity : str
        One of :data:`QUANTITIES`.
    order : int
        See :data:`ORDER_DOC`.
    slots : tuple of Slot
        The index slots.
    edges : tuple of Edge
        The matrix entries, each joining two slots.
    coefficient : int, default 1
        Multiplicity in the expansion.
    monomial : tuple of (str, int), default ()
        Symbolic weight, e.g. ``(("c1", 2), ("sw", 4))``.
    rational : Fraction, default 1
        Exact extra factor.
    rule : str, default "real"
        How pairing identifies the slots of two paired entries.
    n_traces : int, default 0
        Number of traces of a word (0 for glued trees).
    key : tuple, default ()
        The root terms a tree graph was glued from (not compared).

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> g = trace_word_graph(1, 1)
    >>> g.shape, g.n_slots, g.n_edges, g.is_word, g.to_json()["edges"]
    ('ginibre-p1', 2, 2, True, [['W1', 0, 1, 0, 0, 0], ['W1', 0, 1, 1, 1, 0]])
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

    Parameters
    ----------
    parents : tuple of tuple of int
        ``parents[v]``: the nodes feeding v (``()`` for the input node 0).
    sink : int
        The output node.
    shape : str
        Catalogue shape key of the architecture.
    scale2 : tuple of ((int, int), Fraction), default ()
        Squared extra edge scales that differ from 1/|in(u)|.
    shared : bool, default False
        Name matrices ``W{w+1}`` by source node (ResNet) instead of ``W{w}>{u}``.
    bias : bool, default True
        Nodes carry biases.

    Examples
    --------
    >>> dag = LayerDag(((), (0,), (0, 1)), sink=2, shape="dag-demo")
    >>> dag.hidden, dag.edge_scale2(0, 2), dag.mat(0, 2)
    ((1,), Fraction(1, 2), 'W0>2')
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

    Parameters
    ----------
    arch : MLPSpec, DagSpec or ResNetSpec
        The architecture; a ResNet needs a finite L.

    Returns
    -------
    LayerDag
        With the architecture's ``shape``.

    Raises
    ------
    SpecError
        ``resnet:L=inf``, or not an architecture.

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> layer_dag(parse_arch("mlp:L=2")).parents
    ((), (0,), (1,), (2,))
    >>> r = layer_dag(parse_arch("resnet:L=2"))
    >>> r.parents[3], r.edge_scale2(1, 3), r.bias
    ((0, 1, 2), Fraction(1, 2), False)
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
    """Catalogue shape key: ``mlp-L2``, ``dag-1a2b3c4d``, ``ginibre-p2``, ``gue``.

    Parameters
    ----------
    arch : MLPSpec, DagSpec, ResNetSpec or None
        The architecture (unused for ``trace`` and ``gue``).
    quantity : str
        One of :data:`QUANTITIES`.
    p : int, optional
        Number of Ginibre factors (``trace`` only).

    Returns
    -------
    str
        ``gue``, ``ginibre-p{p}``, or ``arch.shape`` (which ignores sw and sb).

    Examples
    --------
    >>> from graphexp_db.spec import parse_arch
    >>> shape_of(parse_arch("mlp:L=2,sw=2"), "ntk"), shape_of(None, "trace", p=2), shape_of(None, "gue")
    ('mlp-L2', 'ginibre-p2', 'gue')
    """
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

    Parameters
    ----------
    dag : LayerDag
        The architecture's layer DAG.
    u : int
        A non-input node.
    D : int
        The largest out-degree (Taylor degree) allowed at any vertex of the subtree.

    Returns
    -------
    int
        The number of vertex types: multisets of at most D child terms, a child term being the
        node's bias or a vertex type of a parent node (an input coordinate at node 0).

    Examples
    --------
    >>> count_vertex_types(layer_dag(MLPSpec(L=2)), 2, 2)
    36
    """
    n_terms = int(dag.bias) + sum(1 if w == 0 else count_vertex_types(dag, w, D) for w in dag.parents[u])
    # multisets of size <= D from n_terms kinds: sum_k C(n+k-1, k) = C(n+D, D) (hockey stick)
    return math.comb(n_terms + D, D)


def _root_terms(dag: LayerDag, D: int) -> list[tuple]:
    return _child_terms(dag, dag.sink, D)

