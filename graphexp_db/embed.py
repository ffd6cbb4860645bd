"""Embedding of pairings: quotient graph, ribbon graph, V, E, F, chi, genus, N-exponent (F4).

A pairing identifies the indices at the ends of paired edges.  The *index classes* are the
connected components of the slots under these identifications; this module counts them for a
whole batch of pairings at once in the array backend (label propagation with pointer jumping,
vectorised over the batch: numpy, or cupy with ``xp = get_xp("gpu")``).

* Trace words (one trace, ``2n`` letters): the ribbon graph has one vertex, ``E = n`` edges and
  ``F`` faces = index classes, ``chi = V - E + F``; orientable (no twisted pair: a real W paired
  with W, not W^T) gives genus ``(2 - chi)/2``, otherwise ``2 - chi`` crosscaps.  The term of
  ``(1/N) E tr`` scales as ``N^(chi - 2)``: ``-2g`` orientable, ``-h`` with h crosscaps.
* Trees glued at the root: the quotient graph has a vertex per hidden index class, one for the
  output index and one leaf per pair of input or bias edges; its edges are the pairs.  The
  N-exponent is ``e = (hidden classes) - (pairs of 1/sqrt(N) edges) = -(cycle rank) <= 0``,
  zero iff the quotient is a tree (the infinite-width limit).

Examples
--------
>>> from graphexp_db.expand import gue_graph, trace_word_graph
>>> from graphexp_db.pair import PairingSpace
>>> space = PairingSpace(gue_graph(2))
>>> b = embed_batch(space.graph, space.unrank(0, space.total))
>>> b.n_exponent.tolist(), b.genus.tolist()
([0, -2, 0], [0, 1, 0])
>>> space = PairingSpace(trace_word_graph(1, 2))   # real Ginibre: 2 + 1/N
>>> sorted(embed_batch(space.graph, space.unrank(0, 3)).n_exponent.tolist())
[-1, 0, 0]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .expand import OperatorGraph
from .surfaces import CROSSCAP, CUMULANT, Surface, surface_text

__all__ = ["BatchEmbedding", "Embedding", "embed_batch", "embed_one", "aggregate", "aggregate_keys", "surface_codes", "format_term", "evaluate_factors"]

_CODE_SHIFT = 64  # per-class codes: x-count * 64 + y-count (input classes), 4096 + mark-level * 64 + count (D marks)
_SENTINEL = np.iinfo(np.int32).max


@dataclass
class BatchEmbedding:
    """Arrays over a batch of pairings (host numpy arrays).

    Every array has the batch size B as its first axis.  Words fill the ribbon-graph fields (``F``,
    ``genus``, ``crosscaps``, ``orientable``; the last three are None for cumulant blocks); trees
    glued at the root leave them None and give the quotient graph's V, E, chi.

    Attributes
    ----------
    labels : numpy.ndarray
        (B, S) class label of every slot (the smallest slot of its index class).
    n_classes : numpy.ndarray
        Number of hidden (N-dimensional) index classes.
    n_exponent : numpy.ndarray
        Exponent e of the pairing's N^e.
    V, E : numpy.ndarray
        Vertices and edges of the ribbon graph (words) or quotient graph (trees).
    F : numpy.ndarray or None
        Faces of the ribbon graph (= index classes); None for trees.
    chi : numpy.ndarray
        Euler characteristic V - E + F (words) or V - E of the quotient graph (trees).
    genus, crosscaps : numpy.ndarray or None
        Genus (-1 when non-orientable) and crosscaps (0 when orientable) of the surface.
    orientable : numpy.ndarray or None
        False when a real W is paired with W (a twisted pair).
    crossing : numpy.ndarray
        Pairs joining different trees (the NTK marking count).
    signature : numpy.ndarray
        (B, S) sorted class codes (input moments and D-marks), padded with ``_SENTINEL``.

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> from graphexp_db.pair import PairingSpace
    >>> b = embed_batch(trace_word_graph(1, 2), PairingSpace(trace_word_graph(1, 2)).unrank(0, 3))
    >>> b.chi.tolist(), b.orientable.tolist(), b.crosscaps.tolist()   # a sphere, a projective plane, a sphere
    ([2, 1, 2], [True, False, True], [0, 1, 0])
    """

    labels: np.ndarray  # (B, S) class label of every slot
    n_classes: np.ndarray  # hidden (N-dimensional) classes
    n_exponent: np.ndarray
    V: np.ndarray
    E: np.ndarray
    F: np.ndarray | None
    chi: np.ndarray
    genus: np.ndarray | None
    crosscaps: np.ndarray | None
    orientable: np.ndarray | None
    crossing: np.ndarray  # pairs joining different trees (NTK marking count)
    signature: np.ndarray  # (B, S) sorted class codes (input moments and D-marks), sentinel-padded


def _incidence(graph: OperatorGraph):
    """Static incidence of slots: for slot u, the (edge, end) pairs touching it (end 0 = row, 1 = col),
    padded with (-1, -1).  The partner varies per pairing; this structure does not."""
    inc: list[list[tuple[int, int]]] = [[] for _ in range(graph.n_slots)]
    for i, e in enumerate(graph.edges):
        inc[e.row].append((i, 0))
        inc[e.col].append((i, 1))
    delta = max(1, max(len(x) for x in inc))
    inc_e = np.full((graph.n_slots, delta), -1, dtype=np.int64)
    inc_end = np.zeros((graph.n_slots, delta), dtype=np.int64)
    for u, lst in enumerate(inc):
        for k, (i, end) in enumerate(lst):
            inc_e[u, k], inc_end[u, k] = i, end
    return inc_e, inc_end


def _components(xp, graph: OperatorGraph, T, hermitian: bool):
    """Class label (smallest slot of its class) of every slot, for a batch of partner maps ``T``.

    Neighbours of slot u through its incident edge e are read from e's partner: the partner's
    row (col) for e's row (col) end, crossed for Hermitian pairs.  Min-label propagation over all
    slots at once, with pointer jumping, on flat arrays (a few gathers per round).
    """
    B, n = T.shape
    S = graph.n_slots
    inc_e, inc_end = _incidence(graph)
    ends = np.array([[e.row for e in graph.edges], [e.col for e in graph.edges]], dtype=np.int64)
    if hermitian:
        ends = ends[::-1].copy()
    valid = inc_e >= 0
    delta = inc_e.shape[1]
    # neighbour slots, laid out (delta, B, S) so every round is a few contiguous gathers
    Tflat = T.reshape(-1).astype(xp.int32)
    boff = (xp.arange(B, dtype=xp.int32) * n)[:, None]
    soff = (xp.arange(B, dtype=xp.int32) * S)[:, None]
    ends_flat = xp.asarray(ends.reshape(-1).astype(np.int32))
    nbs = []
    for k in range(delta):
        e_k = xp.asarray(np.where(valid[:, k], inc_e[:, k], 0).astype(np.int32))
        partner = xp.take(Tflat, boff + e_k[None, :])  # (B, S)
        nb = xp.take(ends_flat, xp.asarray((inc_end[:, k] * n).astype(np.int32))[None, :] + partner)
        nb = xp.where(xp.asarray(valid[:, k])[None, :], nb, xp.arange(S, dtype=xp.int32)[None, :])
        nbs.append((nb + soff).reshape(-1))
    lab = xp.broadcast_to(xp.arange(S, dtype=xp.int32), (B, S)).reshape(-1).copy()
    offs = soff.reshape(B, 1)
    while True:
        new = lab
        for nbk in nbs:
            new = xp.minimum(new, xp.take(lab, nbk))
        new = xp.take(new, (new.reshape(B, S) + offs).reshape(-1))  # pointer jumping
        if bool((new == lab).all()):
            return new.reshape(B, S)
        lab = new


def embed_batch(graph: OperatorGraph, P, *, blocks_next=None, xp=None) -> BatchEmbedding:
    """Embed a batch of pairings ``P`` (B, n_edges; ``P[b, e]`` = partner of e).

    For cumulant partitions pass ``blocks_next`` (B, n_edges; the next edge of e's block, cyclically
    in increasing order) instead of partners (``P`` may then be ``None``); blocks of size > 2 have
    no orientation data.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    P : array_like or None
        (B, n_edges) integer partner maps, e.g. from :meth:`graphexp_db.pair.PairingSpace.unrank`;
        numpy or cupy.
    blocks_next : array_like, optional
        (B, n_edges) cyclic successors within cumulant blocks, instead of ``P``.
    xp : module, optional
        Array namespace for the label propagation; None takes the input's.

    Returns
    -------
    BatchEmbedding
        The embedding data of every pairing, as host numpy arrays.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph, trace_word_graph
    >>> from graphexp_db.pair import PairingSpace
    >>> space = PairingSpace(gue_graph(3))
    >>> sorted(embed_batch(space.graph, space.unrank(0, space.total)).genus.tolist())  # 5 planar, 10 tori
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    >>> b = embed_batch(trace_word_graph(1, 2), None, blocks_next=np.array([[1, 2, 3, 0]]))  # one block of 4
    >>> b.chi.tolist(), b.orientable
    ([0], None)
    """
    if xp is None:
        from .backend import array_namespace

        xp = array_namespace(P if P is not None else blocks_next)
    T = xp.asarray(P if P is not None else blocks_next, dtype=xp.int32)
    B, n = T.shape
    S = graph.n_slots
    lab = _components(xp, graph, T, graph.rule == "hermitian" and P is not None)
    lab_h = _host(lab)
    T_h = _host(T)
    roots = lab_h == np.arange(S)[None, :]
    kinds = np.array([s.kind for s in graph.slots])
    hidden = kinds == "N"
    n_classes = (roots & hidden[None, :]).sum(axis=1)
    half = np.array([e.half_N for e in graph.edges])
    tree = np.array([e.tree for e in graph.edges])
    idx = np.arange(n)[None, :]
    if P is not None:
        is_rep = idx < T_h
        n_blocks = np.full(B, n // 2)
        crossing = (is_rep & (tree[None, :] != tree[T_h])).sum(axis=1)
    else:
        is_rep = T_h <= idx  # the largest edge of a block wraps around to its smallest
        n_blocks = is_rep.sum(axis=1)
        crossing = np.zeros(B, dtype=np.int64)
    signature = _signature(graph, lab_h, roots)
    if graph.is_word:
        Vn = np.full(B, graph.n_traces)
        F = n_classes
        chi = Vn + n_blocks + F - n
        e_exp = F - n // 2 - graph.n_traces
        flip = np.array([e.flip for e in graph.edges])
        if P is not None and graph.rule == "real":
            twisted = (is_rep & (flip[None, :] == flip[T_h])).any(axis=1)
            orientable = ~twisted
        elif P is not None:
            orientable = np.ones(B, dtype=bool)
        else:
            orientable = None
        genus = crosscaps = None
        if orientable is not None:
            genus = np.where(orientable, (2 * graph.n_traces - chi) // 2, -1)
            crosscaps = np.where(orientable, 0, 2 * graph.n_traces - chi)
        return BatchEmbedding(lab_h, n_classes, e_exp, Vn, n_blocks, F, chi, genus, crosscaps, orientable, crossing, signature)
    # trees glued at the root: quotient graph
    half_pairs = (is_rep & half[None, :]).sum(axis=1)     # blocks of N x N edges
    other_pairs = n_blocks - half_pairs
    # N^(-1/2) per edge of an N x N matrix: a cumulant block of 2s of them is N^-s, not N^-1
    e_exp = n_classes - int(half.sum()) // 2
    Vq = n_classes + 1 + other_pairs
    Eq = n_blocks
    return BatchEmbedding(lab_h, n_classes, e_exp, Vq, Eq, None, Vq - Eq, None, None, None, crossing, signature)


def _host(a) -> np.ndarray:
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _signature(graph: OperatorGraph, lab: np.ndarray, roots: np.ndarray) -> np.ndarray:
    B, S = lab.shape
    rows = np.arange(B)
    codes = np.full((B, S), _SENTINEL, dtype=np.int32)
    xs = [i for i, s in enumerate(graph.slots) if s.kind == "in" and s.tag == "x"]
    ys = [i for i, s in enumerate(graph.slots) if s.kind == "in" and s.tag == "y"]
    marked = [(i, s.mark) for i, s in enumerate(graph.slots) if s.mark]
    if xs or ys:
        cx = np.zeros((B, S), dtype=np.int32)
        cy = np.zeros((B, S), dtype=np.int32)
        for i in xs:
            np.add.at(cx, (rows, lab[:, i]), 1)
        for i in ys:
            np.add.at(cy, (rows, lab[:, i]), 1)
        has = (cx + cy) > 0
        codes = np.where(has, cx * _CODE_SHIFT + cy, codes)
    if marked:
        cm = np.zeros((B, S), dtype=np.int32)
        level = np.zeros((B, S), dtype=np.int32)
        for i, mk in marked:
            np.add.at(cm, (rows, lab[:, i]), 1)
            level[rows, lab[:, i]] = mk
        has = cm > 0
        codes = np.where(has, 4096 + level * _CODE_SHIFT + cm, codes)
    return np.sort(codes, axis=1)


# --------------------------------------------------------------------------- terms
def _code_symbol(code: int) -> str:
    if code >= 4096:
        level, count = divmod(code - 4096, _CODE_SHIFT)
        return f"mu{level}_{count}"
    nx, ny = divmod(code, _CODE_SHIFT)
    return f"S{nx}_{ny}"


def _surface(b: BatchEmbedding, i: int) -> str:
    if b.F is None:
        return "Q"
    return str(_surface_raw(b, i))


def _surface_raw(b: BatchEmbedding, i: int) -> str:
    if b.orientable is None:
        return str(Surface("X", int(b.chi[i])))
    assert b.genus is not None and b.crosscaps is not None   # set together with orientable
    return str(Surface("S", int(b.genus[i])) if b.orientable[i] else Surface("N", int(b.crosscaps[i])))


def surface_codes(b: BatchEmbedding) -> np.ndarray:
    """Integer surface code per pairing: genus g (orientable), CROSSCAP + crosscaps, CUMULANT + chi (cumulant
    blocks, no orientation data), 0 for quotient graphs of trees.

    Parameters
    ----------
    b : BatchEmbedding
        A batch from :func:`embed_batch`.

    Returns
    -------
    numpy.ndarray
        One integer code per pairing; :func:`graphexp_db.surfaces.surface_text` names it.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> from graphexp_db.pair import PairingSpace
    >>> surface_codes(embed_batch(gue_graph(2), PairingSpace(gue_graph(2)).unrank(0, 3))).tolist()
    [0, 1, 0]
    >>> from graphexp_db.expand import trace_word_graph
    >>> from graphexp_db.surfaces import CROSSCAP
    >>> codes = surface_codes(embed_batch(trace_word_graph(1, 2), PairingSpace(trace_word_graph(1, 2)).unrank(0, 3)))
    >>> codes.tolist() == [0, CROSSCAP + 1, 0]
    True
    """
    if b.F is None:
        return np.zeros_like(b.n_exponent)
    if b.orientable is None:
        return CUMULANT + b.chi
    assert b.genus is not None and b.crosscaps is not None   # set together with orientable
    return np.where(b.orientable, b.genus, CROSSCAP + b.crosscaps)


def aggregate(graph: OperatorGraph, b: BatchEmbedding, *, weights=None, marked: bool = False, census: dict | None = None) -> dict[tuple, Fraction]:
    """Group a batch into exact weights keyed by ``(n_exponent, surface, factors)``.

    ``factors`` multiplies the graph's monomial with the per-class symbols (``S<a>_<b>``: the
    input moment sum_i x_i^a y_i^b / d^((a+b)/2); ``mu<l>_<j>``: E[phi'(h_l)^j]).  ``marked``
    weights every pairing by its crossing pairs (NTK).  ``weights`` are per-pairing cumulant weights.
    ``census``, when given, receives the bare number of pairings (or partitions, unweighted)
    per ``(n_exponent, surface)``.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph of the batch (its monomial, coefficient and rational factor multiply
        every term).
    b : BatchEmbedding
        The embedded batch.
    weights : sequence of Fraction, optional
        Per-pairing weights; None counts each pairing once.
    marked : bool
        Weight every pairing by its crossing pairs (NTK).
    census : dict, optional
        Receives pairing counts per ``(n_exponent, surface)``, added to existing ones.

    Returns
    -------
    dict
        ``{(n_exponent, surface, factors): weight}``: ``surface`` a text such as ``S1``, ``N1``,
        ``X0`` (cumulant blocks) or ``Q`` (trees), ``factors`` a sorted tuple of (symbol, power),
        ``weight`` an exact nonzero Fraction.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph, trace_word_graph
    >>> from graphexp_db.pair import PairingSpace
    >>> census = {}
    >>> terms = aggregate(gue_graph(3), embed_batch(gue_graph(3), PairingSpace(gue_graph(3)).unrank(0, 15)), census=census)
    >>> sorted(terms.items()), census   # tr H^6: 5 + 10 N^-2
    ([((-2, 'S1', ()), Fraction(10, 1)), ((0, 'S0', ()), Fraction(5, 1))], {(-2, 'S1'): 10, (0, 'S0'): 5})
    >>> b = embed_batch(trace_word_graph(1, 2), None, blocks_next=np.array([[1, 2, 3, 0]]))
    >>> aggregate(trace_word_graph(1, 2), b, weights=[Fraction(-2)])   # kappa_4 = -2 (Rademacher)
    {(-1, 'X0', ()): Fraction(-2, 1)}
    """
    keys = np.column_stack([b.n_exponent, b.crossing if marked else np.zeros_like(b.n_exponent), surface_codes(b), b.signature])
    return aggregate_keys(graph, keys, tree=b.F is None, weights=weights, marked=marked, census=census)


def aggregate_keys(graph: OperatorGraph, keys: np.ndarray, *, tree: bool, weights=None, marked: bool = False,
                   census: dict | None = None, weighted_census: bool = False) -> dict[tuple, Fraction]:
    """:func:`aggregate` on key rows ``(n_exponent, crossing, surface code, signature...)`` (one row
    per pairing, as the compiled kernel of :mod:`graphexp_db.genus_kernel` writes them).

    ``weighted_census`` counts ``weights`` (orbit multiplicities) instead of rows in ``census``.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph of the keys.
    keys : numpy.ndarray
        Integer key rows, one per pairing.
    tree : bool
        True for trees glued at the root (surface ``Q``), False for words (surface from the code).
    weights : sequence of Fraction, optional
        Per-row weights; None counts each row once.
    marked : bool
        Weight every row by its crossing column (NTK).
    census : dict, optional
        Receives counts per ``(n_exponent, surface)``, added to existing ones.
    weighted_census : bool
        Count ``weights`` instead of rows in ``census``.

    Returns
    -------
    dict
        ``{(n_exponent, surface, factors): weight}`` as :func:`aggregate` gives.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> sorted(aggregate_keys(gue_graph(2), np.array([[0, 0, 0], [-2, 0, 1], [0, 0, 0]]), tree=False).items())
    [((-2, 'S1', ()), Fraction(1, 1)), ((0, 'S0', ()), Fraction(2, 1))]
    >>> census = {}
    >>> _ = aggregate_keys(gue_graph(2), np.array([[0, 0, 0], [-2, 0, 1]]), tree=False, weights=[Fraction(2), Fraction(1)],
    ...                    census=census, weighted_census=True)   # two orbit representatives, sizes 2 and 1
    >>> census
    {(-2, 'S1'): Fraction(1, 1), (0, 'S0'): Fraction(2, 1)}
    """
    out: dict[tuple, Fraction] = defaultdict(Fraction)
    if len(keys) == 0:
        return dict(out)
    uniq, inverse, counts = _unique_rows(keys)
    if weights is None:
        totals = [Fraction(int(c)) for c in counts]
    else:
        totals = [Fraction(0)] * len(uniq)
        for i, w in zip(inverse.ravel().tolist(), weights):
            totals[i] += w
    groups = []
    for j in range(len(uniq)):
        code = int(uniq[j][2])
        surface = "Q" if tree else surface_text(code)
        raw = totals[j] if weighted_census else int(counts[j])
        groups.append((np.concatenate([uniq[j][:2], uniq[j][3:]]), surface, totals[j], raw))
    base = Counter(dict(graph.monomial))
    for key, surface, count, raw in groups:
        e, cross = int(key[0]), int(key[1])
        factors = base.copy()
        for code in key[2:]:
            if code != _SENTINEL:
                factors[_code_symbol(int(code))] += 1
        if census is not None:
            census[(e, surface)] = census.get((e, surface), 0) + raw
        w = count * graph.coefficient * graph.rational * (cross if marked else 1)
        if w:
            out[(e, surface, tuple(sorted(factors.items())))] += w
    return dict(out)


def _unique_rows(keys: np.ndarray):
    """``np.unique(keys, axis=0)`` through one int64 mixed-radix key per row (much faster)."""
    keys = keys.astype(np.int64)
    lo, hi = keys.min(axis=0), keys.max(axis=0)
    span = hi - lo + 1
    if np.prod(span.astype(float)) >= 2.0**62:
        return np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    code = np.zeros(len(keys), dtype=np.int64)
    for j in range(keys.shape[1]):
        if span[j] > 1:
            code = code * span[j] + (keys[:, j] - lo[j])
    if float(np.prod(span.astype(float))) <= 1 << 20:  # small code space: one counting pass, no sort
        hist = np.bincount(code)
        present = np.flatnonzero(hist)
        first = np.full(len(hist), -1, dtype=np.int64)
        first[code[::-1]] = np.arange(len(code) - 1, -1, -1)
        remap = np.zeros(len(hist), dtype=np.int64)
        remap[present] = np.arange(len(present))
        return keys[first[present]], remap[code], hist[present]
    _, first, inverse, counts = np.unique(code, return_index=True, return_inverse=True, return_counts=True)
    return keys[first], inverse.ravel(), counts


def evaluate_factors(factors, values: dict[str, Fraction]) -> Fraction:
    """Exact value of a product of symbols (``c<k>``, ``sw``, ``sb``, ``S<a>_<b>``, ``mu<l>_<j>``).

    Parameters
    ----------
    factors : iterable of (str, int)
        (symbol, power) pairs, as in the ``factors`` of a term key.
    values : dict
        Exact value of every symbol that occurs.

    Returns
    -------
    Fraction
        The product of ``values[symbol] ** power``.

    Raises
    ------
    KeyError
        When a symbol has no value.

    Examples
    --------
    >>> evaluate_factors((("c1", 2), ("sw", 4)), {"c1": Fraction(1, 2), "sw": Fraction(2)})   # 1/4 * 16
    Fraction(4, 1)
    >>> evaluate_factors((), {})
    Fraction(1, 1)
    """
    out = Fraction(1)
    for sym, power in factors:
        out *= values[sym] ** power
    return out


def format_term(weight: Fraction, factors, n_exponent: int) -> str:
    """Human-readable ``2 * c1^2 * sw^4 * S1_1 * N^-1``.

    Parameters
    ----------
    weight : Fraction
        The exact coefficient.
    factors : iterable of (str, int)
        (symbol, power) pairs; power 1 is written without ``^``.
    n_exponent : int
        Exponent of N; 0 leaves N out.

    Returns
    -------
    str
        The factors joined by `` * ``.

    Examples
    --------
    >>> format_term(Fraction(2), (("c1", 2), ("sw", 4)), -1)
    '2 * c1^2 * sw^4 * N^-1'
    >>> format_term(Fraction(-1, 2), (("S1_1", 1),), 0)
    '-1/2 * S1_1'
    """
    parts = [str(weight)]
    parts += [s if p == 1 else f"{s}^{p}" for s, p in factors]
    if n_exponent:
        parts.append(f"N^{n_exponent}")
    return " * ".join(parts)


@dataclass(frozen=True)
class Embedding:
    """Embedding data of one pairing (what the catalogue stores per orbit representative).

    Attributes
    ----------
    kind : str
        ``ribbon`` (words) or ``quotient`` (trees glued at the root).
    V, E : int
        Vertices and edges of the ribbon or quotient graph.
    F : int or None
        Faces of the ribbon graph; None for quotient graphs.
    chi : int
        Euler characteristic.
    genus : int or None
        Genus of an orientable ribbon graph; None otherwise.
    crosscaps : int or None
        Crosscaps of a ribbon graph (0 when orientable); None for quotient graphs.
    orientable : bool or None
        Whether the ribbon graph is orientable; None for quotient graphs.
    n_exponent : int
        Exponent e of N^e.
    leading : bool
        ``n_exponent == 0`` (contributes at infinite width).
    quotient_edges : tuple of (int, int, str)
        One edge per pair: (class of the row end, class of the col end or a negative leaf id,
        matrix).
    surface : str
        ``S<g>``, ``N<h>``, ``X<chi>`` or ``Q``.
    quotient_certificate : str
        Canonical certificate of the quotient graph (pynauty).

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> e = embed_one(trace_word_graph(1, 2), ((0, 2), (1, 3)))   # W paired with W: a twisted pair
    >>> e.kind, e.chi, e.orientable, e.crosscaps, e.surface, e.n_exponent
    ('ribbon', 1, False, 1, 'N1', -1)
    """

    kind: str
    V: int
    E: int
    F: int | None
    chi: int
    genus: int | None
    crosscaps: int | None
    orientable: bool | None
    n_exponent: int
    leading: bool
    quotient_edges: tuple[tuple[int, int, str], ...]
    surface: str
    quotient_certificate: str = ""


def quotient_certificate(graph: OperatorGraph, labels, qedges) -> str:
    """Canonical certificate (pynauty) of the quotient graph: vertices are the index classes
    (coloured by slot kind, layer node and D-mark) plus one leaf per input/bias pair, edges the
    pairs coloured by their matrix (explicit edge nodes and a port for direction, as for operator
    graphs, so multi-edges and loops are encoded)."""
    from .canonical import graph_certificate

    classes = sorted({int(labels[i]) for i in range(graph.n_slots)})
    index = {c: i for i, c in enumerate(classes)}
    colours = [f"c:{graph.slots[c].kind}:{graph.slots[c].node}:{graph.slots[c].mark}" for c in classes]
    links = []
    for u, v, mat in qedges:
        if v < 0:  # a leaf for a pair of input or bias edges
            colours.append("leaf")
            v_idx = len(colours) - 1
        else:
            v_idx = index[v]
        enode = len(colours)
        colours += [f"e:{mat}", "p"]
        links += [(enode, index[u]), (enode, enode + 1), (enode + 1, v_idx)]
    return graph_certificate(len(colours), links, colours)


def embed_one(graph: OperatorGraph, pairs: tuple[tuple[int, int], ...]) -> Embedding:
    """Embedding of a single pairing given as edge pairs.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    pairs : tuple of (int, int)
        The pairing as edge pairs, e.g. from :meth:`graphexp_db.pair.PairingSpace.pairs`.

    Returns
    -------
    Embedding
        Its embedding data, with the quotient graph's edges and certificate.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> embed_one(gue_graph(2), ((0, 2), (1, 3))).genus
    1
    >>> e = embed_one(gue_graph(2), ((0, 1), (2, 3)))
    >>> e.surface, e.V, e.E, e.F, e.leading   # planar: chi = 1 - 2 + 3
    ('S0', 1, 2, 3, True)
    """
    P = np.arange(graph.n_edges, dtype=np.int32)[None, :].copy()
    for a, c in pairs:
        P[0, a], P[0, c] = c, a
    b = embed_batch(graph, P)
    lab = b.labels[0]
    qedges = []
    for a, _c in pairs:
        e = graph.edges[a]
        if graph.is_word:
            qedges.append((int(lab[e.row]), int(lab[e.col]), e.mat))
        else:
            qedges.append((int(lab[e.row]), int(lab[e.col]) if e.half_N else -1 - len(qedges), e.mat))
    word = graph.is_word
    F = genus = crosscaps = orientable = None   # ribbon graphs (words) only
    if word:
        assert b.F is not None and b.genus is not None and b.crosscaps is not None and b.orientable is not None
        F, orientable = int(b.F[0]), bool(b.orientable[0])
        genus = int(b.genus[0]) if orientable else None
        crosscaps = 0 if orientable else int(b.crosscaps[0])
    return Embedding(
        quotient_certificate=quotient_certificate(graph, lab, qedges),
        kind="ribbon" if word else "quotient",
        V=int(b.V[0]),
        E=int(b.E[0]),
        F=F,
        chi=int(b.chi[0]),
        genus=genus,
        crosscaps=crosscaps,
        orientable=orientable,
        n_exponent=int(b.n_exponent[0]),
        leading=int(b.n_exponent[0]) == 0,
        quotient_edges=tuple(qedges),
        surface=_surface(b, 0),
    )
