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
orbit (its smallest-rank member) is embedded and weighted by the orbit size; whole spaces of at
least ``ORBIT_MIN`` pairings take this route in :func:`pairing_terms`.

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

import os
from collections import defaultdict
from fractions import Fraction

import numpy as np

from .expand import OperatorGraph
from .pair import PairingSpace, count_pairings

__all__ = ["compiled_available", "pairing_keys", "partner_keys", "pairing_terms", "orbit_terms", "keys_terms",
           "KEY_FIXED"]

KEY_FIXED = 5  # key columns before the signature: n_exponent, crossing, surface code, chi, hidden classes
_SHIFT = 64
_SENTINEL = np.iinfo(np.int32).max
CHUNK = 1 << 20
ORBIT_MIN = 1 << 16  # whole spaces of cyclic words at least this large are summed over orbits


def compiled_available() -> bool:
    """True when numba imports (the compiled CPU kernel); else the numpy reference path is used.

    >>> isinstance(compiled_available(), bool)
    True
    """
    return _numba() is not None


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

    Examples
    --------
    >>> from graphexp_db.expand import gue_graph
    >>> pairing_keys(gue_graph(2))[:, :5].tolist()   # genus 0, 1, 0
    [[0, 0, 0, 2, 3], [-2, 0, 1, 0, 1], [0, 0, 0, 2, 3]]
    """
    space = PairingSpace(graph, ensemble)
    stop = space.total if stop is None else min(stop, space.total)
    start = min(start, stop)
    if xp is not None and xp.__name__ == "cupy":
        return _gpu_pairing_keys(xp, _Static(graph, space), start, stop)
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

    >>> from graphexp_db.expand import trace_word_graph
    >>> partner_keys(trace_word_graph(1, 1), np.array([[1, 0]]))[:, :3].tolist()
    [[0, 0, 0]]
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

    >>> from graphexp_db.expand import gue_graph
    >>> sorted(keys_terms(gue_graph(2), pairing_keys(gue_graph(2))).items())
    [((-2, 'S1', ()), Fraction(1, 1)), ((0, 'S0', ()), Fraction(2, 1))]
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

    >>> from graphexp_db.expand import trace_word_graph
    >>> sorted(pairing_terms(trace_word_graph(1, 2)).items())   # real Ginibre: 2 + 1/N
    [((-1, 'N1', ()), Fraction(1, 1)), ((0, 'S0', ()), Fraction(2, 1))]
    """
    total = count_pairings(graph, ensemble)
    stop = total if stop is None else min(stop, total)
    if (xp is None or xp.__name__ == "numpy") and _numba() is not None and 0 < total < 2**62 and start < stop:
        space = PairingSpace(graph, ensemble)
        if start == 0 and stop == total and total >= ORBIT_MIN and _rotation_period(graph, space) is not None:
            return orbit_terms(graph, ensemble, census=census)  # a whole large cyclic word: orbit sums
        st = _Static(graph, space)
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
    ``W W^*``); it has ``G = n / q`` elements.  Rank order is the lexicographic order of the partner
    arrays, so the representative of an orbit is its smallest-rank member, and its weight is
    ``G / |stabiliser|`` (an integer).  A range ``[start, stop)`` sums the representatives whose
    rank lies in it: the sums over disjoint ranges add up to the whole (the same exact terms as
    :func:`pairing_terms` on the whole space, with the same census of pairings), so rank ranges
    remain the unit of distributed work.  The representative of a GUE orbit has edge 0 paired at
    distance ``<= n/2``: the ranks beyond are skipped without unranking them.

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
    n = graph.n_edges
    G = n // q
    stop = space.total if stop is None else min(stop, space.total)
    if space.groups[0].kind == "matching":  # edge 0's partner digit d means distance d + 1
        stop = min(stop, (n // 2) * (space.total // (n - 1)))
    if start >= stop:
        return {}
    st = _Static(graph, space)
    if st.fast_word and _numba() is not None:
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


def _word_hist(st: _Static, start: int, count: int, q: int, orbit_size: int = 0) -> np.ndarray:
    n = st.graph.n_edges
    count = max(0, min(count, int(np.prod(st.g_size.astype(object))) - start))  # never past the last rank
    nblk = max(1, min(4096, count // 8192))
    hist = np.zeros((nblk, 2 * (n + 1) * (orbit_size + 1)), dtype=np.int64)
    _kernels()["word_hist"](np.int64(start), np.int64(count), np.int64(q), st.dg, st.g_size, st.g_kind, st.g_loff,
                            st.g_left, st.g_roff, st.g_right, st.alpha, st.flip, st.flags, st.twist, st.perm_word, hist)
    return hist.sum(axis=0)


def _decode_hist(st: _Static, hist: np.ndarray, orbit_size: int = 0):
    """Key rows ``(n_exponent, crossing, surface[, c])`` and counts of a word histogram."""
    n, ntr = st.graph.n_edges, st.graph.n_traces
    rows, counts = [], []
    for idx in np.flatnonzero(hist).tolist():
        rest, tw = divmod(idx, 2)
        c, ncls = divmod(rest, n + 1)
        chi = ntr + n // 2 + ncls - n
        surf = 1000 + 2 * ntr - chi if tw else (2 * ntr - chi) // 2
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
    """Reference for the compiled orbit weight: ``G / |stabiliser|`` when the pairing is the
    lexicographically smallest of its rotations (the smallest rank), else 0."""
    B, n = P.shape
    canon = np.ones(B, dtype=bool)
    stab = np.zeros(B, dtype=np.int64)
    idx = np.arange(n)
    for t in range(0, n, q):  # the image of letter i + t is letter i: Q[i] = P[i + t] - t (mod n)
        Q = (P[:, (idx + t) % n] - t) % n
        diff = Q != P
        first = diff.argmax(axis=1)
        equal = ~diff.any(axis=1)
        smaller = ~equal & (Q[np.arange(B), first] < P[np.arange(B), first])
        canon &= ~smaller
        stab += equal
    return np.where(canon, (n // q) // np.maximum(stab, 1), 0)


# --------------------------------------------------------------------------- numba kernels
def _numba():
    """The numba module, or None (not installed, or disabled by ``GRAPHEXP_NO_NUMBA``)."""
    return _nb


def _kernels() -> dict:
    return _KERNELS


if os.environ.get("GRAPHEXP_NO_NUMBA"):
    _nb = None
else:
    try:
        import numba as _nb  # noqa: PLC0415  (compiled CPU kernel; the numpy path is the fallback)
    except ImportError:  # pragma: no cover - numba is a dependency; keep the reference path usable
        _nb = None

_KERNELS: dict = {}
if _nb is not None:
    njit, prange = _nb.njit, _nb.prange

    @njit(cache=True, inline="always")
    def find(parent, a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    @njit(cache=True, inline="always")
    def union(parent, a, b):
        ra = find(parent, a)
        rb = find(parent, b)
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb

    @njit(cache=True, inline="always")
    def embed_row(T, tb, is_pair, rows, cols, hidden, half, tree, flip, sp, flags, parent, cnt, out, b):
        word, herm, realrule, ntr, n, S = flags[0], flags[1], flags[2], flags[3], flags[4], flags[5]
        for s in range(S):
            parent[s] = s
        n_blocks = 0
        crossing = 0
        half_pairs = 0
        twisted = 0
        for e in range(n):
            f = T[tb, e]
            if is_pair:
                rep = e < f
            else:
                rep = f <= e
            if rep:
                n_blocks += 1
                if half[e]:
                    half_pairs += 1
                if is_pair:
                    if tree[e] != tree[f]:
                        crossing += 1
                    if flip[e] == flip[f]:
                        twisted = 1
            if is_pair and not rep:
                continue
            if herm and is_pair:
                union(parent, rows[e], cols[f])
                union(parent, cols[e], rows[f])
            else:
                union(parent, rows[e], rows[f])
                union(parent, cols[e], cols[f])
        ncls = 0
        for s in range(S):
            if find(parent, s) == s and hidden[s]:
                ncls += 1
        if word:
            chi = ntr + n_blocks + ncls - n
            expo = ncls - n // 2 - ntr
            if not is_pair:
                surf = 2000 + chi
            elif realrule and twisted:
                surf = 1000 + 2 * ntr - chi
            else:
                surf = (2 * ntr - chi) // 2
        else:
            expo = ncls - half_pairs
            chi = ncls + 1 + (n_blocks - half_pairs) - n_blocks
            surf = 0
        out[b, 0] = expo
        out[b, 1] = crossing if is_pair else 0
        out[b, 2] = surf
        out[b, 3] = chi
        out[b, 4] = ncls
        K = sp.shape[0]
        if K:
            # per-class counters keyed by root: cnt[root, 0..3] = x, y, marks, level
            for j in range(K):
                rt = find(parent, sp[j, 0])
                cnt[rt, 0] = 0
                cnt[rt, 1] = 0
                cnt[rt, 2] = 0
                cnt[rt, 3] = 0
            for j in range(K):
                rt = find(parent, sp[j, 0])
                kind = sp[j, 1]
                if kind == 2:
                    cnt[rt, 2] += 1
                    cnt[rt, 3] = sp[j, 2]
                else:
                    cnt[rt, kind] += 1
            # one code per distinct root, sentinel for repeats; then sort
            for j in range(K):
                rt = find(parent, sp[j, 0])
                first = True
                for i in range(j):
                    if find(parent, sp[i, 0]) == rt:
                        first = False
                        break
                if not first:
                    out[b, KEY_FIXED + j] = _SENTINEL
                elif cnt[rt, 2] > 0:
                    out[b, KEY_FIXED + j] = 4096 + cnt[rt, 3] * _SHIFT + cnt[rt, 2]
                else:
                    out[b, KEY_FIXED + j] = cnt[rt, 0] * _SHIFT + cnt[rt, 1]
            for j in range(1, K):  # insertion sort
                v = out[b, KEY_FIXED + j]
                i = j - 1
                while i >= 0 and out[b, KEY_FIXED + i] > v:
                    out[b, KEY_FIXED + i + 1] = out[b, KEY_FIXED + i]
                    i -= 1
                out[b, KEY_FIXED + i + 1] = v

    BLOCK = 4096

    @njit(cache=True, inline="always")
    def set_digits(r, dg, g_size, digits):
        """Digits (most significant first) of rank r in the flattened mixed radix."""
        ND = dg.shape[0]
        j = ND - 1
        for gi in range(g_size.shape[0] - 1, -1, -1):
            local = r % g_size[gi]
            r = r // g_size[gi]
            while j >= 0 and dg[j, 0] == gi:
                digits[j] = local % dg[j, 2]
                local //= dg[j, 2]
                j -= 1

    @njit(cache=True, inline="always")
    def rebuild(j0, dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P):
        """Pairs of digits j0.. ; A[j] holds the available elements before digit j (odometer state)."""
        ND = dg.shape[0]
        for j in range(j0, ND):
            gi, t = dg[j, 0], dg[j, 1]
            lo = g_loff[gi]
            m = g_loff[gi + 1] - lo
            d = digits[j]
            if g_kind[gi] == 0:
                na = m - 2 * t
                if t == 0:
                    for i in range(m):
                        A[j, i] = g_left[lo + i]
                a = A[j, 0]
                b = A[j, d + 1]
                P[0, a] = b
                P[0, b] = a
                if j + 1 < ND and dg[j + 1, 0] == gi:
                    w = 0
                    for i in range(1, na):
                        if i != d + 1:
                            A[j + 1, w] = A[j, i]
                            w += 1
            else:
                na = m - t
                if t == 0:
                    rlo = g_roff[gi]
                    for i in range(m):
                        A[j, i] = g_right[rlo + i]
                b = A[j, d]
                a = g_left[lo + t]
                P[0, a] = b
                P[0, b] = a
                if j + 1 < ND and dg[j + 1, 0] == gi:
                    w = 0
                    for i in range(na):
                        if i != d:
                            A[j + 1, w] = A[j, i]
                            w += 1

    @njit(cache=True, inline="always")
    def advance(dg, digits):
        """Next rank: increment the last digit with carries; returns the first changed digit."""
        j = dg.shape[0] - 1
        digits[j] += 1
        while j > 0 and digits[j] >= dg[j, 2]:
            digits[j] = 0
            j -= 1
            digits[j] += 1
        return j

    @njit(cache=True, inline="always")
    def word_classes(P, a_letter, a_end, a_self, vis, stamp, n):
        """Index classes of a word whose slots each touch two letter-ends: orbits of <alpha, beta>
        on the letter-ends h = 2 e + x (alpha: the other end at the same slot; beta: the partner's
        end).  ``a_self[h]`` = alpha(h), ``a_letter[h]`` its letter, ``a_end[h]`` the end beta
        lands on (crossed for Hermitian pairs).  ``vis[h] == stamp`` marks visited ends."""
        ncls = 0
        for h0 in range(0, 2 * n):
            if vis[h0] == stamp:
                continue
            ncls += 1
            h = h0
            while vis[h] != stamp:
                vis[h] = stamp
                vis[a_self[h]] = stamp
                h = 2 * P[0, a_letter[h]] + a_end[h]
        return ncls

    @njit(parallel=True, cache=True)
    def word_hist(start, count, q, dg, g_size, g_kind, g_loff, g_left, g_roff, g_right, alpha, flip, flags, twist, perm, hist):
        """Histogram over (orbit weight c, classes, twisted) of ranks [start, start + count);
        ``q`` > 0 keeps orbit representatives only, c = orbit size (see :func:`orbit_terms`);
        c = 0 otherwise."""
        herm, n = flags[1], flags[4]
        nblk = hist.shape[0]
        a_self = alpha.copy()
        a_letter = alpha >> 1
        a_end = (alpha & 1) ^ herm
        per = (count + nblk - 1) // nblk
        ND = dg.shape[0]
        for blk in prange(nblk):
            lo = start + blk * per
            hi = min(start + count, lo + per)
            if lo >= hi:
                continue
            P = np.empty((1, n), dtype=np.int32)
            A = np.empty((ND + 1, n), dtype=np.int32)
            digits = np.empty(ND, dtype=np.int64)
            vis = np.zeros(2 * n, dtype=np.int64)
            set_digits(lo, dg, g_size, digits)
            rebuild(0, dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P)
            for r in range(lo, hi):
                c = 0
                if q > 0:  # representative = smallest rotation image; weight c = G / |stabiliser|
                    stab = 0
                    for t in range(0, n, q):
                        cmp = 0
                        for i in range(n):
                            j = i + t
                            if j >= n:
                                j -= n
                            v = P[0, j] - t
                            if v < 0:
                                v += n
                            if v != P[0, i]:
                                cmp = -1 if v < P[0, i] else 1
                                break
                        if cmp < 0:
                            stab = 0
                            break
                        if cmp == 0:
                            stab += 1
                    c = (n // q) // stab if stab > 0 else -1
                if c >= 0:
                    tw = 0
                    if twist:  # a real word where two letters of equal flip can be paired
                        for e in range(n):
                            if e < P[0, e] and flip[e] == flip[P[0, e]]:
                                tw = 1
                                break
                    if perm:  # cycles of s -> P[s - 1]
                        ncls = 0
                        stamp = r + 1
                        for s0 in range(n):
                            if vis[s0] == stamp:
                                continue
                            ncls += 1
                            x = s0
                            while vis[x] != stamp:
                                vis[x] = stamp
                                x = P[0, x - 1 if x > 0 else n - 1]
                    else:
                        ncls = word_classes(P, a_letter, a_end, a_self, vis, r + 1, n)
                    hist[blk, (c * (n + 1) + ncls) * 2 + tw] += 1
                if r + 1 < hi:
                    rebuild(advance(dg, digits), dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P)

    @njit(cache=True)
    def ranks(start, dg, g_kind, g_size, g_loff, g_left, g_roff, g_right, rows, cols, hidden, half, tree, flip, sp, flags, out):
        B = out.shape[0]
        n, S = flags[4], flags[5]
        nblk = (B + BLOCK - 1) // BLOCK
        for blk in range(nblk):
            P = np.empty((1, n), dtype=np.int32)
            digits = np.empty(n, dtype=np.int64)
            parent = np.empty(S, dtype=np.int32)
            cnt = np.empty((S, 4), dtype=np.int64)
            A = np.empty((dg.shape[0] + 1, n), dtype=np.int32)
            b0 = blk * BLOCK
            set_digits(start + b0, dg, g_size, digits)
            rebuild(0, dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P)
            for b in range(b0, min(B, b0 + BLOCK)):
                embed_row(P, 0, True, rows, cols, hidden, half, tree, flip, sp, flags, parent, cnt, out, b)
                if b + 1 < B:
                    rebuild(advance(dg, digits), dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P)

    @njit(cache=True)
    def given(T, is_pair, rows, cols, hidden, half, tree, flip, sp, flags, out):
        B = out.shape[0]
        S = flags[5]
        nblk = (B + BLOCK - 1) // BLOCK
        for blk in range(nblk):
            parent = np.empty(S, dtype=np.int32)
            cnt = np.empty((S, 4), dtype=np.int64)
            for b in range(blk * BLOCK, min(B, (blk + 1) * BLOCK)):
                embed_row(T, b, is_pair != 0, rows, cols, hidden, half, tree, flip, sp, flags, parent, cnt, out, b)

    _KERNELS.update(ranks=ranks, given=given, word_hist=word_hist)


# --------------------------------------------------------------------------- CUDA kernel (CuPy)
_CUDA_SRC = r"""
extern "C" __global__ void pairing_keys(
    const long long start, const long long B, const int ng,
    const long long* g_kind, const long long* g_size, const long long* g_loff, const int* g_left,
    const long long* g_roff, const int* g_right,
    const int* rows, const int* cols, const int* hidden, const int* half, const int* tree, const int* flip,
    const int word, const int herm, const int realrule, const int ntr, const int n, const int S,
    long long* out, const int W)
{
    long long b = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= B) return;
    int P[MAXN], avail[MAXN], parent[MAXS];
    long long digits[MAXN];
    long long r = start + b;
    for (int gi = ng - 1; gi >= 0; --gi) {
        long long size = g_size[gi];
        long long local = r % size; r /= size;
        int lo = (int)g_loff[gi], m = (int)(g_loff[gi + 1] - lo);
        if (g_kind[gi] == 0) {
            int nd = m / 2;
            for (int j = nd - 1; j >= 0; --j) { int radix = m - 1 - 2 * j; digits[j] = local % radix; local /= radix; }
            int na = m;
            for (int j = 0; j < m; ++j) avail[j] = g_left[lo + j];
            for (int j = 0; j < nd; ++j) {
                int a = avail[0]; int d = (int)digits[j] + 1; int bb = avail[d]; int w = 0;
                for (int i = 1; i < na; ++i) if (i != d) avail[w++] = avail[i];
                na -= 2; P[a] = bb; P[bb] = a;
            }
        } else {
            int rlo = (int)g_roff[gi];
            for (int j = m - 1; j >= 0; --j) { int radix = m - j; digits[j] = local % radix; local /= radix; }
            int na = m;
            for (int j = 0; j < m; ++j) avail[j] = g_right[rlo + j];
            for (int j = 0; j < m; ++j) {
                int d = (int)digits[j]; int bb = avail[d];
                for (int i = d; i < na - 1; ++i) avail[i] = avail[i + 1];
                na -= 1; int a = g_left[lo + j]; P[a] = bb; P[bb] = a;
            }
        }
    }
    for (int s = 0; s < S; ++s) parent[s] = s;
    int n_blocks = 0, crossing = 0, half_pairs = 0, twisted = 0;
    for (int e = 0; e < n; ++e) {
        int f = P[e];
        if (e >= f) continue;
        n_blocks++; if (half[e]) half_pairs++;
        if (tree[e] != tree[f]) crossing++;
        if (flip[e] == flip[f]) twisted = 1;
        int u1 = rows[e], v1 = herm ? cols[f] : rows[f], u2 = cols[e], v2 = herm ? rows[f] : cols[f];
        int pu[2] = {u1, u2}, pv[2] = {v1, v2};
        for (int k = 0; k < 2; ++k) {
            int x = pu[k]; while (parent[x] != x) x = parent[x];
            int y = pv[k]; while (parent[y] != y) y = parent[y];
            if (x < y) parent[y] = x; else if (y < x) parent[x] = y;
        }
    }
    int ncls = 0;
    for (int s = 0; s < S; ++s) { int x = s; while (parent[x] != x) x = parent[x]; if (x == s && hidden[s]) ncls++; }
    long long expo, chi, surf;
    if (word) {
        chi = ntr + n_blocks + ncls - n; expo = ncls - n / 2 - ntr;
        surf = (realrule && twisted) ? 1000 + 2 * ntr - chi : (2 * ntr - chi) / 2;
    } else {
        expo = ncls - half_pairs; chi = ncls + 1 - half_pairs; surf = 0;
    }
    long long* o = out + b * W;
    o[0] = expo; o[1] = crossing; o[2] = surf; o[3] = chi; o[4] = ncls;
}
"""


def _gpu_pairing_keys(xp, st: _Static, start: int, stop: int) -> np.ndarray:
    """CUDA version of the ``ranks`` kernel (one thread per pairing).  Graphs with a signature
    (input moments or D-marks) are embedded on the host: only their keys' fixed part is compiled."""
    from .backend import to_numpy

    if len(st.sp):
        return _reference_keys(st.graph, st.space.unrank(start, stop))
    n, S = st.graph.n_edges, st.graph.n_slots
    B = stop - start
    src = "#define MAXN %d\n#define MAXS %d\n" % (max(n, 1), max(S, 1)) + _CUDA_SRC
    kern = xp.RawKernel(src, "pairing_keys")
    out = xp.empty((B, st.width), dtype=xp.int64)
    if B:
        dev = [xp.asarray(a) for a in (st.g_kind, st.g_size, st.g_loff, st.g_left, st.g_roff, st.g_right, st.rows,
                                       st.cols, st.hidden, st.half, st.tree, st.flip)]
        f = st.flags
        threads = 256
        kern(((B + threads - 1) // threads,), (threads,),
             (np.int64(start), np.int64(B), np.int32(len(st.g_kind)), *dev, np.int32(f[0]), np.int32(f[1]),
              np.int32(f[2]), np.int32(f[3]), np.int32(n), np.int32(S), out, np.int32(st.width)))
    return to_numpy(out)
