"""The numba kernels of :mod:`graphexp_db.genus_kernel` (compiled CPU loops, one pass per pairing).

* ``ranks`` / ``given``: key rows ``(n_exponent, crossing, surface code, chi, hidden classes,
  signature...)`` of a rank range (unranked by an odometer over the mixed-radix digits) or of
  explicit partner maps / cumulant blocks, with union-find over the slots;
* ``word_hist``: the histogram over (classes, twisted) of a rank range of a word whose slots each
  touch two letter-ends (orbits of two involutions on the letter-ends);
* ``perm_hist``: the histogram over (orbit weight, classes) for orientable cyclic words (GUE,
  complex ``tr (W W^*)^k``), whose index classes are the cycles of ``s -> P[s - 1]``, followed
  incrementally along the odometer (O(1) amortised per pairing), with orbit sums that skip whole
  subtrees of digits.

``numba`` is None when it is not installed or ``GRAPHEXP_NO_NUMBA`` is set; the functions below
are then plain Python, never called (the driver takes the numpy reference path).

>>> sorted(KERNELS) if numba is not None else ['given', 'perm_hist', 'ranks', 'word_hist']
['given', 'perm_hist', 'ranks', 'word_hist']
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

from .embed import _CODE_SHIFT as _SHIFT
from .embed import _SENTINEL

__all__ = ["numba", "KERNELS", "KEY_FIXED"]

KEY_FIXED = 5  # key columns before the signature: n_exponent, crossing, surface code, chi, hidden classes
BLOCK = 4096


def _load_numba() -> ModuleType | None:
    if os.environ.get("GRAPHEXP_NO_NUMBA"):
        return None
    try:
        import numba as nb
    except ImportError:  # pragma: no cover - numba is a dependency; keep the reference path usable
        return None
    return nb


numba = _load_numba()

if numba is not None:
    njit, prange = numba.njit, numba.prange
else:  # pragma: no cover
    def njit(*args, **kwargs):
        return lambda f: f

    prange = range


# --------------------------------------------------------------------------- union-find keys
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
def join_pairs(T, tb, is_pair, rows, cols, half, tree, flip, herm, n, parent):
    """Union of the slots each pair (or cumulant block step) identifies; returns
    (blocks, crossing pairs, pairs of 1/sqrt(N) edges, twisted)."""
    n_blocks = 0
    crossing = 0
    half_pairs = 0
    twisted = 0
    for e in range(n):
        f = T[tb, e]
        rep = e < f if is_pair else f <= e
        if rep:
            n_blocks += 1
            if half[e]:
                half_pairs += 1
            if is_pair:
                crossing += tree[e] != tree[f]
                twisted |= flip[e] == flip[f]
        if is_pair and not rep:
            continue
        if herm and is_pair:
            union(parent, rows[e], cols[f])
            union(parent, cols[e], rows[f])
        else:
            union(parent, rows[e], rows[f])
            union(parent, cols[e], cols[f])
    return n_blocks, crossing, half_pairs, twisted


@njit(cache=True, inline="always")
def write_signature(parent, sp, cnt, out, b):
    """One code per index class holding inputs or marks (sentinel for repeats), sorted."""
    K = sp.shape[0]
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


@njit(cache=True, inline="always")
def embed_row(T, tb, is_pair, rows, cols, hidden, half, tree, flip, sp, flags, parent, cnt, out, b):
    word, herm, realrule, ntr, n, S = flags[0], flags[1], flags[2], flags[3], flags[4], flags[5]
    for s in range(S):
        parent[s] = s
    n_blocks, crossing, half_pairs, twisted = join_pairs(T, tb, is_pair, rows, cols, half, tree, flip, herm, n, parent)
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
        chi = ncls + 1 - half_pairs
        surf = 0
    out[b, 0] = expo
    out[b, 1] = crossing if is_pair else 0
    out[b, 2] = surf
    out[b, 3] = chi
    out[b, 4] = ncls
    if sp.shape[0]:
        write_signature(parent, sp, cnt, out, b)


# --------------------------------------------------------------------------- the rank odometer
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
def place(j, dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P):
    """The pair of digit j: A[j] holds the elements still available before it (odometer state);
    fills A[j + 1] when the next digit is in the same group.  Returns the paired letters (a, b)."""
    gi, t = dg[j, 0], dg[j, 1]
    lo = g_loff[gi]
    m = g_loff[gi + 1] - lo
    d = digits[j]
    more = j + 1 < dg.shape[0] and dg[j + 1, 0] == gi
    if g_kind[gi] == 0:  # matching: the first available element with the (d + 1)-th other one
        if t == 0:
            A[j, :m] = g_left[lo:lo + m]
        a, b, skip, first, na = A[j, 0], A[j, d + 1], d + 1, 1, m - 2 * t
    else:  # bijection: left element t with the d-th available right element
        if t == 0:
            A[j, :m] = g_right[g_roff[gi]:g_roff[gi] + m]
        a, b, skip, first, na = g_left[lo + t], A[j, d], d, 0, m - t
    if more:
        w = 0
        for i in range(first, na):
            if i != skip:
                A[j + 1, w] = A[j, i]
                w += 1
    P[0, a] = b
    P[0, b] = a
    return a, b


@njit(cache=True, inline="always")
def rebuild(j0, dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P):
    """The pairs of digits j0, j0 + 1, ... (the digits before j0 are unchanged)."""
    for j in range(j0, dg.shape[0]):
        place(j, dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P)


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
def offset(P, x, n):
    """The forward length ``P[x] - x`` (mod n) of the pair at letter x."""
    v = P[0, x] - x
    return v + n if v < 0 else v


@njit(cache=True, inline="always")
def extend_necklace(P, n, q, lo, hi, p):
    """The offsets ``o[i] = offset(P, q i)`` of a cyclic word: rotating the word by q letters
    rotates o by one place (and o determines P), so an orbit's representative is the pairing whose
    offsets are the smallest of their rotations (a necklace).  Appends ``o[lo:hi]`` to ``o[:lo]``, a
    prefix of a necklace whose longest Lyndon prefix has length p (Fredricksen-Kessler-Maiorana):
    returns the new p, or 0 when ``o[:hi]`` is no prefix of a necklace.  The whole of o is a
    necklace when p divides its length, and p is then the orbit size."""
    for k in range(max(lo, 1), hi):
        v = offset(P, q * k, n)
        w = offset(P, q * (k - p), n)
        if v < w:
            return 0
        if v > w:
            p = k + 1
    return p


# --------------------------------------------------------------------------- words: histograms
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
def word_hist(start, count, dg, g_size, g_kind, g_loff, g_left, g_roff, g_right, alpha, flip, flags, twist, hist):
    """Histogram over (classes, twisted) of ranks [start, start + count) (bin ``classes 2 + twisted``)."""
    herm, n = flags[1], flags[4]
    nblk = hist.shape[0]
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
            tw = 0
            for e in range(n if twist else 0):  # a real word where two letters of equal flip can be paired
                if e < P[0, e] and flip[e] == flip[P[0, e]]:
                    tw = 1
                    break
            ncls = word_classes(P, a_letter, a_end, alpha, vis, r + 1, n)
            hist[blk, ncls * 2 + tw] += 1
            if r + 1 < hi:
                rebuild(advance(dg, digits), dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P)


@njit(cache=True, inline="always")
def join(x, y, head, tail, log, k):
    """Arc x -> y of the partial map s -> P[s - 1] (x the tail of a path, y the head of one):
    closes a cycle (returns 1) or joins the two paths; ``log[k]`` keeps what :func:`unjoin` needs.
    ``head[v]`` is the head of the path with tail v, ``tail[u]`` the tail of the path with head u."""
    h = head[x]
    if h == y:
        log[k, 0] = -1
        return 1
    t = tail[y]
    log[k, 0] = t
    log[k, 1] = head[t]
    log[k, 2] = h
    log[k, 3] = tail[h]
    head[t] = h
    tail[h] = t
    return 0


@njit(cache=True, inline="always")
def unjoin(head, tail, log, k):
    t = log[k, 0]
    if t >= 0:
        head[t] = log[k, 1]
        tail[log[k, 2]] = log[k, 3]


@njit(cache=True, inline="always")
def known_offsets(j, ND, n, q, g_kind, A):
    """How many offsets of a cyclic word are known after digit j: those of the letters before the
    first unpaired one (matching), or of the left letters 0, 2, ..., 2 j (bijection, q = 2)."""
    if j + 1 == ND:
        return n // q
    if g_kind[0] == 0:
        return (A[j + 1, 0] + q - 1) // q
    return j + 1


@njit(cache=True, inline="always")
def skip_subtree(j, dg, digits, W):
    """Sets the digits after j to their last value (the end of digit j's subtree, where
    :func:`advance` moves on to digit j's next value); returns the ranks skipped, the current one
    included.  ``W[j]`` is the number of ranks under one value of digit j."""
    off = 0
    for k in range(j + 1, dg.shape[0]):
        off += digits[k] * W[k]
        digits[k] = dg[k, 2] - 1
    return W[j] - off


@njit(parallel=True, cache=True)
def perm_hist(start, count, nblk, q, n, dg, g_size, g_kind, g_loff, g_left, g_roff, g_right, hist):
    """Histogram over (orbit weight c, classes) of ranks [start, start + count) of an orientable
    cyclic word, whose index classes are the cycles of ``s -> P[s - 1]`` (bin ``(c (n + 1) +
    classes) 2``, as :func:`word_hist`).  The ranks are walked in order; each digit's pair adds the
    arcs ``a + 1 -> b``, ``b + 1 -> a`` to the partial map, joining its paths or closing a cycle,
    and is undone when the digit changes, so a pairing costs O(1) amortised.  ``q`` > 0 keeps the
    orbit representatives, weighted by their orbit size c: the offsets known after each digit (those of the
    letters before the first unpaired one) must be a prefix of a necklace (:func:`extend_necklace`),
    else the whole subtree of the digit is skipped.  ``nblk`` blocks of ranks go round-robin to
    ``hist.shape[0]`` threads."""
    nthr = hist.shape[0]
    ND = dg.shape[0]
    per = (count + nblk - 1) // nblk
    W = np.ones(ND, dtype=np.int64)  # ranks under one value of digit j
    for j in range(ND - 2, -1, -1):
        W[j] = W[j + 1] * dg[j + 1, 2]
    for th in prange(nthr):
        P = np.empty((1, n), dtype=np.int32)
        A = np.empty((ND + 1, n), dtype=np.int32)
        digits = np.empty(ND, dtype=np.int64)
        head = np.empty(n, dtype=np.int32)
        tail = np.empty(n, dtype=np.int32)
        log = np.empty((2 * ND, 4), dtype=np.int32)
        cyc = np.zeros(ND + 1, dtype=np.int64)  # cycles closed by the digits before j
        known = np.zeros(ND + 1, dtype=np.int64)  # offsets known before digit j ...
        lyn = np.ones(ND + 1, dtype=np.int64)  # ... and their longest Lyndon prefix
        for blk in range(th, nblk, nthr):
            r = start + blk * per
            hi = min(start + count, r + per)
            if r >= hi:
                continue
            set_digits(r, dg, g_size, digits)
            for s in range(n):
                head[s] = s
                tail[s] = s
            depth, j0 = 0, 0
            while True:
                while depth > j0:
                    depth -= 1
                    unjoin(head, tail, log, 2 * depth + 1)
                    unjoin(head, tail, log, 2 * depth)
                for j in range(j0, ND):
                    a, b = place(j, dg, digits, g_kind, g_loff, g_left, g_roff, g_right, A, P)
                    if q > 0:
                        known[j + 1] = known_offsets(j, ND, n, q, g_kind, A)
                        lyn[j + 1] = extend_necklace(P, n, q, known[j], known[j + 1], lyn[j])
                        if lyn[j + 1] == 0:
                            break
                    closed = join(a + 1 if a + 1 < n else 0, b, head, tail, log, 2 * j)
                    closed += join(b + 1 if b + 1 < n else 0, a, head, tail, log, 2 * j + 1)
                    cyc[j + 1] = cyc[j] + closed
                    depth = j + 1
                if depth < ND:  # no representative below digit `depth`: skip to its next value
                    r += skip_subtree(depth, dg, digits, W)
                else:
                    c = lyn[ND] if q > 0 and (n // q) % lyn[ND] == 0 else 0
                    if q == 0 or c > 0:
                        hist[th, (c * (n + 1) + cyc[ND]) * 2] += 1
                    r += 1
                if r >= hi:
                    break
                j0 = advance(dg, digits)


# --------------------------------------------------------------------------- key rows
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


KERNELS: dict = dict(ranks=ranks, given=given, word_hist=word_hist, perm_hist=perm_hist) if numba is not None else {}
