"""Compiled genus kernel: unrank a block of Wick pairings and count index classes in one pass.

The reference path (:func:`graphexp_db.pair.PairingSpace.unrank` followed by
:func:`graphexp_db.embed.embed_batch` and :func:`graphexp_db.embed.aggregate`) works on whole
arrays and allocates several ``(B, slots)`` temporaries per round of label propagation.  This
module does the same work per pairing in a compiled loop (numba ``@njit(parallel=True)`` on the
CPU, one CUDA thread per pairing through CuPy on a GPU): mixed-radix unranking (an odometer: no
division per rank), the index classes (union-find over the slots; for one-trace words the orbits
of two involutions on the letter-ends, or, for orientable cyclic words such as GUE and complex
Ginibre words, the cycles of ``s -> P[s - 1]`` on the slots), then the *key* of the pairing

    ``(n_exponent, crossing, surface code, chi, hidden classes, signature...)``

which is all that :func:`graphexp_db.embed.aggregate` needs (words without marks are histogrammed
in the kernel).  Aggregation stays exact (Python integers and :class:`fractions.Fraction`), and
the result equals the reference path key for key.

Orbit-level sums (:func:`orbit_terms`): for a word whose automorphism group contains the
rotations (GUE ``tr H^(2n)``, trace words ``tr (W W^*)^k``), one representative per rotation
orbit is embedded and weighted by the orbit size, and the subtrees of the rank odometer that hold
no representative are skipped; whole spaces of at least ``ORBIT_MIN`` pairings take this route in
:func:`pairing_terms`, and catalogue fills of these words use it on rank ranges.

Examples
--------
>>> from graphexp_db.expand import gue_graph
>>> from graphexp_db.finite import graph_terms
>>> terms = pairing_terms(gue_graph(3))
>>> terms == graph_terms(gue_graph(3))
True
>>> sorted((e, s, int(w)) for (e, s, _), w in terms.items())
[(-2, 'S1', 10), (0, 'S0', 5)]
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import numpy as np

from .backend import is_gpu
from .expand import OperatorGraph
from .genus_numba import KERNELS as _KERNELS
from .genus_numba import KEY_FIXED
from .genus_numba import numba as _nb
from .pair import PairingSpace, count_pairings
from .surfaces import CROSSCAP

__all__ = ["compiled_available", "pairing_keys", "partner_keys", "pairing_terms", "orbit_terms", "orbit_ranks",
           "keys_terms", "KEY_FIXED"]

CHUNK = 1 << 20
SERIAL_MAX = 1 << 18  # shorter rank ranges of cyclic words run on one thread (no hand-offs between cores)
ORBIT_MIN = 1 << 16  # whole spaces of cyclic words at least this large are summed over orbits


def compiled_available() -> bool:
    """True when numba imports (the compiled CPU kernel); else the numpy reference path is used.

    Returns
    -------
    bool
        Whether the compiled kernels run: numba is installed and ``GRAPHEXP_NO_NUMBA`` is not set.
        Results are the same either way, key for key.

    Examples
    --------
    >>> from graphexp_db.genus_numba import numba
    >>> compiled_available() == (numba is not None)
    True
    """
    return _numba() is not None


def _numba():
    """The numba module, or None (not installed, or disabled by ``GRAPHEXP_NO_NUMBA``)."""
    return _nb


def _kernels() -> dict:
    return _KERNELS


# --------------------------------------------------------------------------- static graph data
class _Static:
    """The graph and pairing space as flat int arrays (what the compiled kernels read)."""

    def __init__(self, graph: OperatorGraph, space: PairingSpace | None):
        self.graph = graph
        self.space = space
        n, S = graph.n_edges, graph.n_slots
        self.rows = np.array([e.row for e in graph.edges], dtype=np.int32)
        self.cols = np.array([e.col for e in graph.edges], dtype=np.int32)
        self.hidden = np.array([s.kind == "N" for s in graph.slots], dtype=np.int32)
        self.half = np.array([e.half_N for e in graph.edges], dtype=np.int32)
        self.tree = np.array([e.tree for e in graph.edges], dtype=np.int32)
        self.flip = np.array([e.flip for e in graph.edges], dtype=np.int32)
        special = [(i, 0, 0) for i, s in enumerate(graph.slots) if s.kind == "in" and s.tag == "x"]
        special += [(i, 1, 0) for i, s in enumerate(graph.slots) if s.kind == "in" and s.tag == "y"]
        special += [(i, 2, s.mark) for i, s in enumerate(graph.slots) if s.mark]
        # numpy reference: input counts first, then marks override (last mark in slot order wins)
        self.sp = np.array(special, dtype=np.int32).reshape(-1, 3)
        # flags: 0 word?, 1 hermitian, 2 real-rule twist check, 3 n_traces, 4 n, 5 S
        self.flags = np.array([int(graph.is_word), int(graph.rule == "hermitian"), int(graph.rule == "real"),
                               graph.n_traces, n, S], dtype=np.int64)
        if space is not None:
            kinds, sizes, loff, left, roff, right = [], [], [0], [], [0], []
            for g, size in zip(space.groups, space.sizes):
                kinds.append(0 if g.kind == "matching" else 1)
                sizes.append(size)
                left += list(g.left)
                right += list(g.right)
                loff.append(len(left))
                roff.append(len(right))
            self.g_kind = np.array(kinds, dtype=np.int64)
            self.g_size = np.array(sizes, dtype=np.int64)
            self.g_loff = np.array(loff, dtype=np.int64)
            self.g_left = np.array(left or [0], dtype=np.int32)
            self.g_roff = np.array(roff, dtype=np.int64)
            self.g_right = np.array(right or [0], dtype=np.int32)

        if space is not None:
            dg = [(gi, t, r) for gi, g in enumerate(space.groups)
                  for t, r in enumerate(range(len(g.left) - 1, 0, -2) if g.kind == "matching" else range(len(g.left), 0, -1))]
            self.dg = np.array(dg, dtype=np.int64).reshape(-1, 3)
        # letter-ends h = 2 e + x (x = 0 row, 1 col); alpha(h) = the other end at the same slot
        ends: list[list[int]] = [[] for _ in range(S)]
        for e, ed in enumerate(graph.edges):
            ends[ed.row].append(2 * e)
            ends[ed.col].append(2 * e + 1)
        self.alpha = np.zeros(2 * n, dtype=np.int32)
        # real words: can two letters of equal flip be paired (a twisted pair, a crosscap)?
        self.twist = bool(graph.rule == "real" and space is not None and any(
            (g.kind == "matching" and len({graph.edges[i].flip for i in g.left}) < len(g.left))
            or (g.kind == "bijection" and {graph.edges[i].flip for i in g.left} & {graph.edges[i].flip for i in g.right})
            for g in space.groups))
        self.fast_word = graph.is_word and not len(self.sp) and all(len(x) == 2 for x in ends)
        if self.fast_word:
            for a, b in ends:
                self.alpha[a], self.alpha[b] = b, a
        # orientable cyclic words (GUE, complex W W^*): every pair glues the right end of one letter
        # to the left end of the other, so the index classes are the cycles of s -> P[s - 1] on
        # the slots (letter a sits between slot a and slot a + 1)
        self.perm_word = bool(self.fast_word and space is not None and graph.n_traces == 1 and not self.twist
                              and all(_glues_right_to_left(graph, e, f) for g in space.groups for e, f in _pairs(g)))

    @property
    def width(self) -> int:
        return KEY_FIXED + len(self.sp)


def _pairs(group):
    if group.kind == "matching":
        return [(e, f) for i, e in enumerate(group.left) for f in group.left[i + 1:]]
    return [(e, f) for e in group.left for f in group.right]


def _glues_right_to_left(graph: OperatorGraph, e: int, f: int) -> bool:
    """Pairing letters e and f identifies (right end of e, left end of f) and (left of e, right of f)."""
    n = graph.n_edges
    herm = graph.rule == "hermitian"
    for a, b in ((e, f), (f, e)):
        ea, eb = graph.edges[a], graph.edges[b]
        right_is_col = not ea.flip  # the slot a + 1 is the col end unless the letter is transposed
        right_slot = ea.col if right_is_col else ea.row
        if right_slot != (a + 1) % n:
            return False
        glued_is_col = right_is_col != herm  # same end type (real rule), the other one (Hermitian)
        if (eb.col if glued_is_col else eb.row) != b:  # must be b's left slot
            return False
    return True


# --------------------------------------------------------------------------- numpy reference keys
def _reference_keys(graph: OperatorGraph, P=None, blocks_next=None) -> np.ndarray:
    """The same key rows from the reference :func:`~graphexp_db.embed.embed_batch` (for tests and
    as the fallback when numba is missing)."""
    from .embed import _SENTINEL as SENT
    from .embed import embed_batch, surface_codes

    b = embed_batch(graph, P, blocks_next=blocks_next)
    sig = b.signature
    K = _Static(graph, None).width - KEY_FIXED
    sig = sig[:, :K] if K else np.zeros((len(sig), 0), dtype=np.int32)
    assert K == 0 or (b.signature[:, K:] == SENT).all()
    chi = np.asarray(b.chi)
    return np.column_stack([b.n_exponent, b.crossing, surface_codes(b), chi, b.n_classes, sig]).astype(np.int64)


# --------------------------------------------------------------------------- public entry points
def pairing_keys(graph: OperatorGraph, ensemble="gaussian", start: int = 0, stop: int | None = None, *,
                 xp=None, compiled: bool = True) -> np.ndarray:
    """Key rows ``(n_exponent, crossing, surface, chi, hidden classes, signature...)`` of the
    pairings with rank in ``[start, stop)``, unranked and embedded in one compiled pass.

    ``xp`` = cupy runs the CUDA kernel; ``compiled=False`` (or no numba) uses the numpy reference.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    ensemble : str or Ensemble
        Weight ensemble of the pairing space (``gaussian``, ``complex``; GUE graphs pair H with H).
    start, stop : int
        The rank range of :class:`~graphexp_db.pair.PairingSpace` (``stop=None``: to the end; both
        are clipped to the space).
    xp : module, optional
        Array namespace: None or numpy runs on the CPU, cupy runs the CUDA kernel
        (:func:`graphexp_db.genus_cuda.gpu_pairing_keys`; graphs with a signature are embedded on
        the host).
    compiled : bool
        False forces the numpy reference path (:func:`graphexp_db.embed.embed_batch`).

    Returns
    -------
    numpy.ndarray
        int64 array of shape (stop - start, ``KEY_FIXED`` + K), one row per rank: N-exponent,
        crossing pairs (joining different trees), surface code (genus g, ``CROSSCAP`` + crosscaps,
        0 for trees), chi, hidden index classes, then the K smallest class codes of the signature
        (K = the number of input slots and D-marked slots; 0 for words).

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph, trace_word_graph
    >>> pairing_keys(gue_graph(2))[:, :5].tolist()   # genus 0, 1, 0
    [[0, 0, 0, 2, 3], [-2, 0, 1, 0, 1], [0, 0, 0, 2, 3]]
    >>> from graphexp_db.surfaces import CROSSCAP
    >>> keys = pairing_keys(trace_word_graph(1, 2))   # real Ginibre: one twisted pairing, a crosscap
    >>> keys[:, 2].tolist() == [0, CROSSCAP + 1, 0] and bool((keys == pairing_keys(trace_word_graph(1, 2), compiled=False)).all())
    True
    >>> pairing_keys(gue_graph(3), start=3, stop=6)[:, 0].tolist()   # ranks 3..5 of tr H^6: genus 1
    [-2, -2, -2]
    """
    space = PairingSpace(graph, ensemble)
    stop = space.total if stop is None else min(stop, space.total)
    start = min(start, stop)
    if is_gpu(xp):
        st = _Static(graph, space)
        if len(st.sp):  # a signature (input moments, D-marks): embedded on the host
            return _reference_keys(graph, space.unrank(start, stop))
        from .genus_cuda import gpu_pairing_keys

        return gpu_pairing_keys(xp, st, start, stop)
    if not compiled or _numba() is None or space.total >= 2**62:
        return _reference_keys(graph, space.unrank(start, stop))
    st = _Static(graph, space)
    out = np.empty((stop - start, st.width), dtype=np.int64)
    if stop > start:
        _kernels()["ranks"](np.int64(start), st.dg, st.g_kind, st.g_size, st.g_loff, st.g_left, st.g_roff, st.g_right,
                            st.rows, st.cols, st.hidden, st.half, st.tree, st.flip, st.sp, st.flags, out)
    return out


def partner_keys(graph: OperatorGraph, P=None, *, blocks_next=None, compiled: bool = True) -> np.ndarray:
    """Key rows for explicit partner maps ``P`` (B, n_edges) or cumulant blocks ``blocks_next``.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    P : array_like, optional
        Integer array (B, n_edges), ``P[b, e]`` the partner of edge e in pairing b.
    blocks_next : array_like, optional
        Instead of ``P``, for cumulant partitions: (B, n_edges), the next edge of e's block
        (cyclically, in increasing order), as :func:`graphexp_db.embed.embed_batch` takes it.
    compiled : bool
        False forces the numpy reference path.

    Returns
    -------
    numpy.ndarray
        int64 key rows, one per row of the input, laid out as in :func:`pairing_keys`; a block of
        size > 2 has no orientation, its surface code is ``CUMULANT`` + chi.

    Examples
    --------
    >>> from graphexp_db.expand import trace_word_graph
    >>> partner_keys(trace_word_graph(1, 1), np.array([[1, 0]]))[:, :3].tolist()
    [[0, 0, 0]]
    >>> from graphexp_db.surfaces import CUMULANT
    >>> key = partner_keys(trace_word_graph(1, 2), blocks_next=np.array([[1, 2, 3, 0]]))  # one block of 4
    >>> key[0, :3].tolist() == [-1, 0, CUMULANT + 0]
    True
    """
    T = np.asarray(P if P is not None else blocks_next, dtype=np.int32)
    if not compiled or _numba() is None:
        return _reference_keys(graph, P, blocks_next)
    st = _Static(graph, None)
    out = np.empty((T.shape[0], st.width), dtype=np.int64)
    if len(T):
        _kernels()["given"](np.ascontiguousarray(T), np.int64(P is not None), st.rows, st.cols, st.hidden, st.half,
                            st.tree, st.flip, st.sp, st.flags, out)
    return out


def keys_terms(graph: OperatorGraph, keys: np.ndarray, *, weights=None, marked: bool = False,
               census: dict | None = None) -> dict:
    """Exact terms ``{(n_exponent, surface, factors): weight}`` of key rows (as
    :func:`graphexp_db.embed.aggregate` gives for the same pairings).

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph the keys belong to (its monomial, coefficient and rational factor
        multiply every term).
    keys : numpy.ndarray
        Key rows from :func:`pairing_keys` or :func:`partner_keys`.
    weights : sequence of Fraction, optional
        Per-row weights (cumulant weights of partitions); None counts each row once.
    marked : bool
        Weight every row by its crossing pairs (NTK marking); otherwise the crossing column is
        ignored.
    census : dict, optional
        Receives the number of rows per ``(n_exponent, surface)`` (added to existing counts).

    Returns
    -------
    dict
        ``{(n_exponent, surface, factors): weight}`` with exact Fraction weights, zeros dropped.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph, trace_word_graph
    >>> census = {}
    >>> sorted(keys_terms(gue_graph(2), pairing_keys(gue_graph(2)), census=census).items())
    [((-2, 'S1', ()), Fraction(1, 1)), ((0, 'S0', ()), Fraction(2, 1))]
    >>> census
    {(-2, 'S1'): 1, (0, 'S0'): 2}
    >>> keys = partner_keys(trace_word_graph(1, 2), blocks_next=np.array([[1, 0, 3, 2], [1, 2, 3, 0]]))
    >>> sorted(keys_terms(trace_word_graph(1, 2), keys, weights=[Fraction(1), Fraction(-2)]).items())
    [((-1, 'X0', ()), Fraction(-2, 1)), ((0, 'X2', ()), Fraction(1, 1))]
    """
    from .embed import aggregate_keys

    cols = [0, 1, 2] + list(range(KEY_FIXED, keys.shape[1]))
    k = keys[:, cols]
    if not marked:
        k = k.copy()
        k[:, 1] = 0
    return aggregate_keys(graph, k, tree=not graph.is_word, weights=weights, marked=marked, census=census)


def pairing_terms(graph: OperatorGraph, ensemble="gaussian", *, marked: bool = False, census: dict | None = None,
                  start: int = 0, stop: int | None = None, xp=None, chunk: int = CHUNK) -> dict:
    """Exact terms of the Wick pairings of ``graph`` with rank in ``[start, stop)`` through the
    compiled kernel (``graph_terms`` of :mod:`graphexp_db.finite` for Gaussian/complex/GUE).

    A whole space of a cyclic word (GUE, complex ``tr (W W^*)^k``) of at least ``ORBIT_MIN``
    pairings is summed over rotation orbits (:func:`orbit_terms`, the same exact terms); rank
    ranges (the unit of distributed work) always enumerate every pairing in the range.

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    ensemble : str or Ensemble
        Weight ensemble of the Wick pairings (``gaussian``, ``complex``).
    marked : bool
        Weight every pairing by its crossing pairs (NTK marking).
    census : dict, optional
        Receives the number of pairings per ``(n_exponent, surface)``.
    start, stop : int
        The rank range (``stop=None``: to the end of the space).
    xp : module, optional
        Array namespace of :func:`pairing_keys` (cupy: the CUDA kernel).
    chunk : int
        Ranks per batch of key rows (memory only).

    Returns
    -------
    dict
        ``{(n_exponent, surface, factors): weight}`` with exact Fraction weights.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph, trace_word_graph
    >>> sorted(pairing_terms(trace_word_graph(1, 2)).items())   # real Ginibre: 2 + 1/N
    [((-1, 'N1', ()), Fraction(1, 1)), ((0, 'S0', ()), Fraction(2, 1))]
    >>> census = {}
    >>> terms = pairing_terms(gue_graph(4), census=census)   # Harer-Zagier: 14 + 70 N^-2 + 21 N^-4
    >>> census
    {(-4, 'S2'): 21, (-2, 'S1'): 70, (0, 'S0'): 14}
    >>> terms[(-2, 'S1', ())]
    Fraction(70, 1)
    """
    total = count_pairings(graph, ensemble)
    stop = total if stop is None else min(stop, total)
    if not is_gpu(xp) and _numba() is not None and 0 < total < 2**62 and start < stop:
        space = PairingSpace(graph, ensemble)
        st = _Static(graph, space)
        whole = start == 0 and stop == total
        if whole and total >= ORBIT_MIN and st.perm_word and _rotation_period(graph, space) is not None:
            return orbit_terms(graph, ensemble, census=census)  # a whole large cyclic word: orbit sums
        if st.fast_word:  # words: histogram of (classes, twisted) in the kernel, no per-pairing rows
            hist = _word_hist(st, start, stop - start, 0)
            rows, counts = _decode_hist(st, hist)
            return _terms_from_counts(graph, rows, counts, census)
    out: dict = defaultdict(Fraction)
    for lo in range(start, stop, chunk):
        keys = pairing_keys(graph, ensemble, lo, min(lo + chunk, stop), xp=xp)
        for k, w in keys_terms(graph, keys, marked=marked, census=census).items():
            out[k] += w
    return dict(out)


def orbit_terms(graph: OperatorGraph, ensemble="gaussian", *, census: dict | None = None, start: int = 0,
                stop: int | None = None, chunk: int = CHUNK) -> dict:
    """The exact terms of every Wick pairing of a cyclic word (GUE, complex ``tr (W W^*)^k``),
    summed over one representative per rotation orbit, weighted by the orbit size.

    The group is generated by the rotation of the word by its period ``q`` (1 for GUE, 2 for
    ``W W^*``); it has ``G = n / q`` elements and rotates the offsets ``(P[q i] - q i) mod n`` of a
    pairing P by one place.  The representative of an orbit is the member whose offsets are the
    smallest of their rotations (a necklace), and its weight is ``G / |stabiliser|`` (an integer).
    A range ``[start, stop)`` sums the representatives whose rank lies in it: the sums over
    disjoint ranges add up to the whole (the same exact terms as :func:`pairing_terms` on the
    whole space, with the same census of pairings), so rank ranges remain the unit of distributed
    work.  The first offset of a representative is its smallest, so a GUE representative has edge
    0 paired at distance ``<= n/2``: the ranks beyond (:func:`orbit_ranks`) are never visited.

    Parameters
    ----------
    graph : OperatorGraph
        A one-trace cyclic word: ``gue_graph(n)`` or ``trace_word_graph(1, k)``.
    ensemble : str or Ensemble
        ``gaussian`` for GUE graphs, ``complex`` for trace words.
    census : dict, optional
        Receives the number of pairings (orbit sizes summed) per ``(n_exponent, surface)``.
    start, stop : int
        The rank range whose representatives are summed (``stop=None``: to the end).
    chunk : int
        Ranks per batch on the numpy reference path (memory only).

    Returns
    -------
    dict
        ``{(n_exponent, surface, factors): weight}`` with exact Fraction weights; empty when the
        range holds no representative.

    Raises
    ------
    SpecError
        When the word has no rotation symmetry of this kind (e.g. a real Ginibre word).

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> from graphexp_db.finite import graph_terms
    >>> orbit_terms(gue_graph(5)) == graph_terms(gue_graph(5))
    True
    >>> halves = [orbit_terms(gue_graph(5), start=a, stop=b) for a, b in ((0, 400), (400, 945))]
    >>> {k: halves[0].get(k, 0) + halves[1].get(k, 0) for k in {*halves[0], *halves[1]}} == graph_terms(gue_graph(5))
    True
    """
    from .spec import SpecError

    space = PairingSpace(graph, ensemble)
    q = _rotation_period(graph, space)
    if q is None:
        raise SpecError("orbit sums need a one-group cyclic word (gue, or trace p=1 with complex weights)")
    G = graph.n_edges // q
    stop = min(_orbit_stop(space), space.total if stop is None else stop)
    if start >= stop:
        return {}
    st = _Static(graph, space)
    if st.perm_word and _numba() is not None:
        rows, mult = _decode_hist(st, _word_hist(st, start, stop - start, q, orbit_size=G), orbit_size=G)
        return _terms_from_counts(graph, [r[:-1] for r in rows], [m * r[-1] for r, m in zip(rows, mult)], census)
    counts: dict = defaultdict(int)  # reference path (numpy): (key..., weight) -> representatives
    for a in range(start, stop, chunk):
        P = space.unrank(a, min(a + chunk, stop))
        w = _orbit_weight_numpy(P, q)
        keep = w > 0
        if not keep.any():
            continue
        keys = np.column_stack([_reference_keys(graph, P[keep])[:, [0, 1, 2]], w[keep]])
        rows, mult = np.unique(keys, axis=0, return_counts=True)
        for r, m in zip(rows.tolist(), mult.tolist()):
            counts[tuple(r)] += m
    return _terms_from_counts(graph, [list(r[:-1]) for r in counts], [m * r[-1] for r, m in counts.items()], census)


def orbit_ranks(graph: OperatorGraph, ensemble="gaussian") -> int | None:
    """The number of leading ranks that hold every orbit representative of :func:`orbit_terms`
    (the ranks its rank ranges cover), or None unless the word is an orientable cyclic word whose
    orbit sums the compiled kernel does (one trace, one group of letters, rotations as automorphisms).

    Parameters
    ----------
    graph : OperatorGraph
        The operator graph.
    ensemble : str or Ensemble
        Weight ensemble of the pairing space.

    Returns
    -------
    int or None
        For GUE ``tr H^(2m)``, m (2m - 3)!!: the ranks whose leading digit pairs edge 0 at distance
        <= m; the whole space (k!) for complex ``tr (W W^*)^k``; None for other graphs.

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph, trace_word_graph
    >>> orbit_ranks(gue_graph(5)), orbit_ranks(trace_word_graph(1, 3), "complex"), orbit_ranks(trace_word_graph(1, 3))
    (525, 6, None)
    """
    if not graph.is_word or graph.n_traces != 1:
        return None
    space = PairingSpace(graph, ensemble)
    if _rotation_period(graph, space) is None or not _Static(graph, space).perm_word:
        return None
    return _orbit_stop(space)


def _orbit_stop(space: PairingSpace) -> int:
    """A GUE representative has edge 0 paired at distance <= n/2 (its first digit d means d + 1)."""
    if space.groups[0].kind == "matching":
        n = space.graph.n_edges
        return (n // 2) * (space.total // (n - 1))
    return space.total


def _word_hist(st: _Static, start: int, count: int, q: int, orbit_size: int = 0) -> np.ndarray:
    """Histogram (bins ``(c (n + 1) + classes) 2 + twisted``) of the ranks ``[start, start + count)``
    of a word; ``q`` > 0 (orientable cyclic words only) counts the orbit representatives only, by
    orbit size c."""
    n = st.graph.n_edges
    count = max(0, min(count, int(np.prod(st.g_size.astype(object))) - start))  # never past the last rank
    nblk = max(1, min(4096, count // 8192))
    width = 2 * (n + 1) * (orbit_size + 1)
    args = (st.dg, st.g_size, st.g_kind, st.g_loff, st.g_left, st.g_roff, st.g_right)
    if st.perm_word:
        nb = _numba()
        threads = nb.get_num_threads()
        nb.set_num_threads(threads if count >= SERIAL_MAX else 1)
        try:
            hist = np.zeros((nb.get_num_threads(), width), dtype=np.int64)
            _kernels()["perm_hist"](np.int64(start), np.int64(count), np.int64(nblk), np.int64(q), np.int64(n),
                                    *args, hist)
        finally:
            nb.set_num_threads(threads)
    else:
        assert q == 0
        hist = np.zeros((nblk, width), dtype=np.int64)
        _kernels()["word_hist"](np.int64(start), np.int64(count), *args, st.alpha, st.flip, st.flags,
                                st.twist, hist)
    return hist.sum(axis=0)


def _decode_hist(st: _Static, hist: np.ndarray, orbit_size: int = 0):
    """Key rows ``(n_exponent, crossing, surface[, c])`` and counts of a word histogram."""
    n, ntr = st.graph.n_edges, st.graph.n_traces
    rows, counts = [], []
    for idx in np.flatnonzero(hist).tolist():
        rest, tw = divmod(idx, 2)
        c, ncls = divmod(rest, n + 1)
        chi = ntr + n // 2 + ncls - n
        surf = CROSSCAP + 2 * ntr - chi if tw else (2 * ntr - chi) // 2
        row = [ncls - n // 2 - ntr, 0, surf] + ([c] if orbit_size else [])
        rows.append(row)
        counts.append(int(hist[idx]))
    return rows, counts


def _terms_from_counts(graph: OperatorGraph, rows, counts, census: dict | None) -> dict:
    """Terms of distinct key rows with exact multiplicities (the census counts pairings)."""
    from .embed import aggregate_keys

    if not rows:
        return {}
    raw: dict = {}
    terms = aggregate_keys(graph, np.array(rows, dtype=np.int64), tree=False, weights=[Fraction(c) for c in counts],
                           census=raw, weighted_census=True)
    if census is not None:
        for k, v in raw.items():
            census[k] = census.get(k, 0) + int(v)
    return terms


def _rotation_period(graph: OperatorGraph, space: PairingSpace) -> int | None:
    """Period q such that rotating the word by q letters is an automorphism preserving the pairing
    structure, for one-group words; None otherwise."""
    if not graph.is_word or graph.n_traces != 1 or len(space.groups) != 1:
        return None
    n = graph.n_edges
    sig = [(e.mat, e.flip, e.conj, graph.slots[e.row].mark, graph.slots[e.col].mark) for e in graph.edges]
    for q in range(1, n + 1):
        if n % q == 0 and all(sig[i] == sig[(i + q) % n] for i in range(n)):
            break
    g = space.groups[0]
    if q == n:
        return None
    if g.kind == "matching" and graph.rule != "hermitian":
        return None  # real words: rotations plus twists; not covered here
    if g.kind == "bijection" and not (list(g.left) == list(range(0, n, 2)) and q == 2):
        return None
    if g.kind == "matching" and list(g.left) != list(range(n)):
        return None
    return q


def _orbit_weight_numpy(P: np.ndarray, q: int) -> np.ndarray:
    """Reference for the compiled orbit weight: the orbit size ``G / |stabiliser|`` when the
    offsets ``(P[q i] - q i) mod n`` are the smallest of their G rotations, else 0."""
    B, n = P.shape
    G = n // q
    O = (P[:, ::q] - np.arange(0, n, q)) % n  # rotating the word by q letters rotates O by one place
    canon = np.ones(B, dtype=bool)
    stab = np.zeros(B, dtype=np.int64)
    for u in range(G):
        R = np.roll(O, -u, axis=1)
        diff = R != O
        first = diff.argmax(axis=1)
        equal = ~diff.any(axis=1)
        smaller = ~equal & (R[np.arange(B), first] < O[np.arange(B), first])
        canon &= ~smaller
        stab += equal
    return np.where(canon, G // np.maximum(stab, 1), 0)


