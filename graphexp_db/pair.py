"""Wick pairings and cumulant partitions of operator graphs (MISSION.md "mathematics" 2, F3).

A pairing pairs edges that are copies of the same matrix: real Gaussian weights pair W
with W (any two letters), complex weights pair W with conj(W) (a bijection between the
plain and the conjugated letters), GUE pairs H with H.  Non-Gaussian i.i.d. weights give
partitions into blocks of even size, weighted by cumulants.

Pairings of a graph form a product of per-matrix spaces, so they have a mixed-radix
rank: :meth:`PairingSpace.unrank` turns a rank range into an array of partner maps
(one row per pairing, vectorised over the range), :meth:`PairingSpace.rank` inverts it.
Rank ranges are the unit of Dask chunks and of resume points.  Every enumerator has an
independent counter.

Examples
--------
>>> from graphexp_db.expand import gue_graph, trace_word_graph
>>> space = PairingSpace(gue_graph(3))
>>> space.total == count_pairings(gue_graph(3)) == 15 == len(list(iter_pairings(gue_graph(3))))
True
>>> import numpy as np
>>> P = space.unrank(0, space.total)
>>> bool((space.rank(P) == np.arange(15)).all())
True
>>> PairingSpace(trace_word_graph(1, 3), "complex").total  # 3! bijections W <-> W*
6
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .counts import double_factorial
from .expand import OperatorGraph
from .spec import Ensemble, SpecError, parse_ensemble

__all__ = [
    "Group",
    "PairingSpace",
    "pairing_groups",
    "count_pairings",
    "iter_pairings",
    "double_factorial",
    "iter_partitions",
    "count_partitions",
    "automorphisms",
    "orbits",
]


@dataclass(frozen=True)
class Group:
    """Edges of one matrix.  ``matching``: perfect matchings of ``left``;
    ``bijection``: bijections ``left`` -> ``right`` (complex W with conj W).

    Parameters
    ----------
    kind : str
        ``"matching"`` (real Gaussian W with W, GUE H with H) or ``"bijection"`` (complex W with
        conj W).
    left : tuple of int
        Edge indices of the matrix in its graph; for a bijection, the plain (unconjugated) edges.
    right : tuple of int
        For a bijection, the conjugated edges; empty for a matching.

    Attributes
    ----------
    size : int
        Number of pairings of the group: (m - 1)!! perfect matchings of m = len(left) edges (0 when
        m is odd), or m! bijections when len(left) == len(right) == m (else 0).

    Examples
    --------
    >>> Group("matching", (0, 1, 2, 3)).size, Group("matching", (0, 1, 2)).size  # 3!!, odd
    (3, 0)
    >>> Group("bijection", (0, 2, 4), (1, 3, 5)).size  # 3!
    6
    """

    kind: str
    left: tuple[int, ...]
    right: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        if self.kind == "matching":
            return 0 if len(self.left) % 2 else double_factorial(len(self.left) - 1)
        return math.factorial(len(self.left)) if len(self.left) == len(self.right) else 0


def pairing_groups(graph: OperatorGraph, ensemble: str | Ensemble = "gaussian") -> tuple[Group, ...]:
    """Split the edges of ``graph`` into independent pairing groups (one per matrix).

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph whose edges are paired.
    ensemble : str or Ensemble
        Weight ensemble; complex weights (``"complex"``) on a non-hermitian graph give bijection
        groups, every other ensemble gives matching groups.

    Returns
    -------
    tuple of Group
        One group per matrix, sorted by matrix name; the number of pairings of the graph is the
        product of their sizes.

    Raises
    ------
    SpecError
        For complex weights on a graph that is not a trace word (or has bias edges).

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> [g.left for g in pairing_groups(trace_word_graph(2, 2))]  # W1 and W2, four edges each
    [(1, 2, 5, 6), (0, 3, 4, 7)]
    >>> pairing_groups(trace_word_graph(1, 3), "complex")
    (Group(kind='bijection', left=(0, 2, 4), right=(1, 3, 5)),)
    """
    ens = parse_ensemble(ensemble)
    by_mat: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(graph.edges):
        by_mat[e.mat].append(i)
    groups = []
    for mat in sorted(by_mat):
        idx = by_mat[mat]
        if ens.is_complex and graph.rule != "hermitian":
            if mat.startswith("b") or not graph.is_word:
                raise SpecError("complex weights are supported for trace words only")
            plain = tuple(i for i in idx if not graph.edges[i].conj)
            conj = tuple(i for i in idx if graph.edges[i].conj)
            groups.append(Group("bijection", plain, conj))
        else:
            groups.append(Group("matching", tuple(idx)))
    return tuple(groups)


def count_pairings(graph: OperatorGraph, ensemble: str | Ensemble = "gaussian") -> int:
    """Exact number of Wick pairings, from the letter counts alone (independent of the enumerator).

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    ensemble : str or Ensemble
        Weight ensemble: a matrix with n real (or GUE) edges has (n - 1)!! pairings, a complex
        matrix with m plain and m conjugated edges has m! (0 when the counts differ or n is odd).

    Returns
    -------
    int
        The product over matrices of those counts; equals ``PairingSpace(graph, ensemble).total``.

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> count_pairings(trace_word_graph(3, 4)), count_pairings(trace_word_graph(3, 4), "complex")
    (1157625, 13824)
    """
    ens = parse_ensemble(ensemble)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in graph.edges:
        counts[e.mat][int(e.conj)] += 1
    total = 1
    for plain, conj in counts.values():
        if ens.is_complex and graph.rule != "hermitian":
            total *= math.factorial(plain) if plain == conj else 0
        else:
            n = plain + conj
            total *= double_factorial(n - 1) if n % 2 == 0 else 0
    return total


class PairingSpace:
    """All Wick pairings of one graph, addressed by a mixed-radix rank.

    ``unrank(start, stop)`` returns an int32 array ``P`` of shape (stop - start, n_edges) with
    ``P[b, e]`` the partner of edge ``e`` in the pairing of rank ``start + b``.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph whose edges are paired.
    ensemble : str or Ensemble
        Weight ensemble, as in :func:`pairing_groups`.

    Attributes
    ----------
    graph : OperatorGraph
        The graph.
    ensemble : Ensemble
        The parsed ensemble.
    groups : tuple of Group
        The per-matrix pairing groups; the first group is the most significant digit of the rank.
    sizes : tuple of int
        ``len`` of each group's pairing space (the mixed radices).
    total : int
        Number of pairings (the product of ``sizes``).
    n : int
        Number of edges of the graph (the width of ``unrank``'s rows).

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> space = PairingSpace(trace_word_graph(2, 2))
    >>> space.sizes, space.total, space.n
    ((3, 3), 9, 8)
    >>> space.unrank(0, 2).tolist()
    [[3, 2, 1, 0, 7, 6, 5, 4], [4, 2, 1, 7, 0, 6, 5, 3]]
    >>> space.pairs(1), space.rank(space.unrank(1, 2)).tolist()
    (((0, 4), (1, 2), (3, 7), (5, 6)), [1])
    """

    def __init__(self, graph: OperatorGraph, ensemble: str | Ensemble = "gaussian"):
        self.graph = graph
        self.ensemble = parse_ensemble(ensemble)
        self.groups = pairing_groups(graph, self.ensemble)
        self.sizes = tuple(g.size for g in self.groups)
        self.total = math.prod(self.sizes)
        self.n = graph.n_edges

    def unrank(self, start: int, stop: int) -> np.ndarray:
        """Partner maps of the pairings with rank in [start, stop) (``stop`` is clipped to ``total``).

        Parameters
        ----------
        start, stop : int
            The rank range.

        Returns
        -------
        numpy.ndarray
            int32 array of shape (stop - start, n); row b maps each edge to its partner in the
            pairing of rank ``start + b``.
        """
        stop = min(stop, self.total)
        ranks = np.arange(start, stop, dtype=np.int64)
        P = np.empty((len(ranks), self.n), dtype=np.int32)
        rem = ranks
        for group, size in zip(reversed(self.groups), reversed(self.sizes)):
            local = rem % size
            rem = rem // size
            _unrank_group(group, local, P)
        return P

    def rank(self, P: np.ndarray) -> np.ndarray:
        """Ranks of partner maps, the inverse of :meth:`unrank`.

        Parameters
        ----------
        P : numpy.ndarray
            Integer array of shape (B, n), one partner map per row.

        Returns
        -------
        numpy.ndarray
            int64 array of the B ranks.
        """
        r = np.zeros(P.shape[0], dtype=np.int64)
        for group, size in zip(self.groups, self.sizes):
            r = r * size + _rank_group(group, P)
        return r

    def pairs(self, rank: int) -> tuple[tuple[int, int], ...]:
        """The pairing of one rank as sorted (a, b) edge pairs."""
        row = self.unrank(rank, rank + 1)[0]
        return tuple((a, int(b)) for a, b in enumerate(row) if a < b)


def iter_pairings(graph: OperatorGraph, ensemble: str | Ensemble = "gaussian", chunk: int = 65536):
    """Yield every Wick pairing of ``graph`` as a tuple of sorted edge pairs, in rank order.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    ensemble : str or Ensemble
        Weight ensemble, as in :func:`pairing_groups`.
    chunk : int
        Number of ranks unranked per batch (memory only; the output does not depend on it).

    Yields
    ------
    tuple of (int, int)
        The pairing as edge pairs (a, b) with a < b, sorted by a.

    See Also
    --------
    count_pairings : the independent counter.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> list(iter_pairings(gue_graph(2)))  # the (2*2 - 1)!! = 3 pairings of tr H^4
    [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    >>> sum(1 for _ in iter_pairings(gue_graph(4), chunk=7)) == count_pairings(gue_graph(4)) == 105
    True
    """
    space = PairingSpace(graph, ensemble)
    for start in range(0, space.total, chunk):
        for row in space.unrank(start, start + chunk):
            yield tuple((a, int(b)) for a, b in enumerate(row) if a < b)


# ---- per-group rank/unrank (vectorised over the batch; loops run over the group size only)
def _unrank_group(group: Group, local: np.ndarray, P: np.ndarray) -> None:
    B = len(local)
    rows = np.arange(B)
    if group.kind == "matching":
        m2 = len(group.left)
        left = np.asarray(group.left, dtype=np.int32)
        radices = list(range(m2 - 1, 0, -2))
        digits = []
        rem = local.copy()
        for r in reversed(radices):
            digits.append(rem % r)
            rem //= r
        digits.reverse()
        avail = np.ones((B, m2), dtype=bool)
        for d in digits:
            a = avail.argmax(axis=1)
            avail[rows, a] = False
            c = np.cumsum(avail, axis=1)
            b = (c == (d + 1)[:, None]).argmax(axis=1)
            avail[rows, b] = False
            P[rows, left[a]] = left[b]
            P[rows, left[b]] = left[a]
        return
    m = len(group.left)
    left = np.asarray(group.left, dtype=np.int32)
    right = np.asarray(group.right, dtype=np.int32)
    digits = []
    rem = local.copy()
    for r in range(1, m + 1):
        digits.append(rem % r)
        rem //= r
    digits.reverse()  # radices m, m-1, ..., 1
    avail = np.ones((B, m), dtype=bool)
    for i, d in enumerate(digits):
        c = np.cumsum(avail, axis=1)
        b = (c == (d + 1)[:, None]).argmax(axis=1)
        avail[rows, b] = False
        P[rows, left[i]] = right[b]
        P[rows, right[b]] = left[i]


def _rank_group(group: Group, P: np.ndarray) -> np.ndarray:
    B = P.shape[0]
    rows = np.arange(B)
    if group.kind == "matching":
        left = np.asarray(group.left)
        m2 = len(left)
        pos = np.full(P.shape[1] if P.size else 1, -1, dtype=np.int64)
        pos[left] = np.arange(m2)
        loc = pos[P[:, left]]  # local partner of each local element
        avail = np.ones((B, m2), dtype=bool)
        r = np.zeros(B, dtype=np.int64)
        for radix in range(m2 - 1, 0, -2):
            a = avail.argmax(axis=1)
            b = loc[rows, a]
            avail[rows, a] = False
            c = np.cumsum(avail, axis=1)
            d = c[rows, b] - 1
            avail[rows, b] = False
            r = r * radix + d
        return r
    left, right = np.asarray(group.left), np.asarray(group.right)
    m = len(left)
    pos = np.full(P.shape[1], -1, dtype=np.int64)
    pos[right] = np.arange(m)
    loc = pos[P[:, left]]
    avail = np.ones((B, m), dtype=bool)
    r = np.zeros(B, dtype=np.int64)
    for i, radix in enumerate(range(m, 0, -1)):
        b = loc[:, i]
        c = np.cumsum(avail, axis=1)
        r = r * radix + (c[rows, b] - 1)
        avail[rows, b] = False
    return r


# --------------------------------------------------------------------------- cumulant partitions
def _even_set_partitions(items: tuple[int, ...]):
    if not items:
        yield ()
        return
    first, rest = items[0], items[1:]
    for size in range(1, len(rest) + 1, 2):  # block of even size = first + odd number of others
        for others in itertools.combinations(rest, size):
            remaining = tuple(i for i in rest if i not in others)
            for tail in _even_set_partitions(remaining):
                yield ((first, *others), *tail)


def iter_partitions(graph: OperatorGraph, ensemble: str | Ensemble):
    """Yield (blocks, weight) for a non-Gaussian real ensemble: partitions of each matrix's
    edges into blocks of even size (odd cumulants vanish: every ensemble here is symmetric),
    weighted by the product of cumulants kappa_|B| (kappa_2 = 1).  Gaussian ensembles give
    exactly the Wick pairings with weight 1.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    ensemble : str or Ensemble
        A real ensemble (``gaussian``, ``rademacher``, ``uniform``, ``sparse:p``).

    Yields
    ------
    tuple
        ``(blocks, weight)``: ``blocks`` is a tuple of edge-index tuples (each of even size, the
        first edge of a block its smallest), ``weight`` the nonzero Fraction product of cumulants.

    Raises
    ------
    SpecError
        For a complex ensemble.

    See Also
    --------
    count_partitions : the independent counter (of all partitions, zero weights included).

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> sorted(w for _, w in iter_partitions(trace_word_graph(1, 2), "rademacher"))
    [Fraction(-2, 1), Fraction(1, 1), Fraction(1, 1), Fraction(1, 1)]
    """
    ens = parse_ensemble(ensemble)
    if ens.is_complex:
        raise SpecError("cumulant partitions are for real ensembles; complex weights use Wick pairings")
    groups = pairing_groups(graph, "gaussian")
    per_group = [list(_even_set_partitions(g.left)) for g in groups]
    kappa = {}
    for combo in itertools.product(*per_group):
        blocks = tuple(b for part in combo for b in part)
        w = Fraction(1)
        for b in blocks:
            s = len(b)
            if s not in kappa:
                kappa[s] = ens.cumulant(s)
            w *= kappa[s]
            if w == 0:
                break
        if w != 0:
            yield blocks, w


def count_partitions(graph: OperatorGraph) -> int:
    """Number of partitions of each matrix's edges into even blocks (all weights counted),
    by the recurrence a(n) = sum_{j odd} C(n-1, j) a(n-1-j) (independent of the enumerator).

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.

    Returns
    -------
    int
        The product over matrices of a(number of edges of the matrix).

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> count_partitions(trace_word_graph(1, 2))  # 3 pairings + one block of 4
    4
    >>> count_partitions(trace_word_graph(1, 3))  # a(6) = 15 pairings + 15 {4, 2} + one block of 6
    31
    """
    from functools import lru_cache

    @lru_cache(maxsize=None)
    def a(n: int) -> int:
        if n == 0:
            return 1
        return sum(math.comb(n - 1, j) * a(n - 1 - j) for j in range(1, n, 2))

    counts: dict[str, int] = defaultdict(int)
    for e in graph.edges:
        counts[e.mat] += 1
    return math.prod(a(n) for n in counts.values())


# --------------------------------------------------------------------------- symmetry
def automorphisms(graph: OperatorGraph, cap: int = 4096) -> list[np.ndarray]:
    """Edge permutations of the graph's automorphism group (from pynauty generators, closed
    under composition, at most ``cap`` elements: beyond it a subgroup is used, whose orbits are
    still exact orbits with exact multiplicities, only finer).

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    cap : int
        Most group elements to generate.

    Returns
    -------
    list of numpy.ndarray
        The permutations as int32 arrays of length n_edges (edge e goes to ``perm[e]``), the
        identity first.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> len(automorphisms(gue_graph(3)))  # rotations of the word
    6
    """
    from .canonical import automorphism_generators

    gens = [np.asarray(g, dtype=np.int32) for g in automorphism_generators(graph)]
    identity = np.arange(graph.n_edges, dtype=np.int32)
    seen = {identity.tobytes(): identity}
    frontier = [identity]
    while frontier and len(seen) < cap:
        nxt = []
        for h in frontier:
            for g in gens:
                c = g[h]
                key = c.tobytes()
                if key not in seen:
                    seen[key] = c
                    nxt.append(c)
                    if len(seen) >= cap:
                        break
        frontier = nxt
    return list(seen.values())


def orbits(space: PairingSpace, perms: list[np.ndarray], start: int = 0, stop: int | None = None):
    """Orbit representatives (minimal rank) and orbit sizes of the pairings with rank in
    [start, stop) under the edge permutations ``perms`` (a group containing the identity).

    Parameters
    ----------
    space : PairingSpace
        The pairing space of the graph.
    perms : list of numpy.ndarray
        Edge permutations forming a group, e.g. from :func:`automorphisms`.
    start, stop : int
        The rank range (``stop=None``: to the end of the space).

    Returns
    -------
    tuple of numpy.ndarray
        ``(rep_ranks, sizes)``: the minimal rank of each orbit met in the range (sorted) and the
        number of pairings of the range in that orbit, so ``sizes`` sums to the size of the range.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> space = PairingSpace(gue_graph(2))
    >>> reps, sizes = orbits(space, automorphisms(gue_graph(2)))
    >>> reps.tolist(), sizes.tolist()
    ([0, 1], [2, 1])
    >>> space = PairingSpace(gue_graph(3))
    >>> int(orbits(space, automorphisms(gue_graph(3)))[1].sum()) == space.total == 15
    True
    """
    stop = space.total if stop is None else stop
    P = space.unrank(start, stop)
    canon = space.rank(P)
    for s in perms:
        Q = np.empty_like(P)
        Q[:, s] = s[P]
        canon = np.minimum(canon, space.rank(Q))
    reps, sizes = np.unique(canon, return_counts=True)
    return reps, sizes
