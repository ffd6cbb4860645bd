"""The CUDA version of the genus kernel's ``ranks`` (CuPy RawKernel, one thread per pairing).

Used by :func:`graphexp_db.genus_kernel.pairing_keys` when ``xp`` is cupy; importing this module
needs neither cupy nor a GPU.

>>> "pairing_keys" in _CUDA_SRC
True
"""

from __future__ import annotations

import numpy as np

from .surfaces import CROSSCAP

_CUDA_SRC = f"#define CROSSCAP {CROSSCAP}\n" + r"""
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
        surf = (realrule && twisted) ? CROSSCAP + 2 * ntr - chi : (2 * ntr - chi) / 2;
    } else {
        expo = ncls - half_pairs; chi = ncls + 1 - half_pairs; surf = 0;
    }
    long long* o = out + b * W;
    o[0] = expo; o[1] = crossing; o[2] = surf; o[3] = chi; o[4] = ncls;
}
"""


def gpu_pairing_keys(xp, st, start: int, stop: int) -> np.ndarray:
    """Key rows of the ranks ``[start, stop)`` (only the fixed part: the caller embeds graphs with a
    signature, input moments or D-marks, on the host); ``st`` is the driver's ``_Static``.

    The source ``_CUDA_SRC`` is compiled with ``MAXN`` / ``MAXS`` set to the graph's numbers of
    edges and slots (the per-thread arrays), and its entry point ``pairing_keys`` runs one thread
    per rank in blocks of 256: it unranks the pairing with the mixed radices of ``st``, joins the
    index classes by union-find and writes the first ``KEY_FIXED`` columns of the row.

    Parameters
    ----------
    xp : module
        The cupy namespace (``RawKernel``, device arrays); the call needs a CUDA GPU.
    st : graphexp_db.genus_kernel._Static
        The graph and its pairing space as flat int arrays (group kinds, sizes and edge lists,
        edge ends, hidden slots, 1/sqrt(N) edges, trees, flips, flags) and the key ``width``.
    start, stop : int
        The rank range, already clipped to the pairing space.

    Returns
    -------
    numpy.ndarray
        int64 host array of shape (stop - start, ``st.width``), equal to the CPU
        :func:`graphexp_db.genus_kernel.pairing_keys` on the first ``KEY_FIXED`` columns (the
        signature columns, present only when ``st`` has special slots, are not written).

    Examples
    --------
    What the host side prepares for tr H^4 (one group of 3 pairings), and the rows the GPU returns
    for its ranks, as the CPU kernel computes them:

    >>> from graphexp_db.expand import gue_graph
    >>> from graphexp_db.genus_kernel import _Static, pairing_keys
    >>> from graphexp_db.pair import PairingSpace
    >>> st = _Static(gue_graph(2), PairingSpace(gue_graph(2)))
    >>> st.g_size.tolist(), st.rows.tolist(), st.cols.tolist(), st.width
    ([3], [0, 1, 2, 3], [1, 2, 3, 0], 5)
    >>> 'extern "C" __global__ void pairing_keys(' in _CUDA_SRC
    True
    >>> pairing_keys(gue_graph(2), start=0, stop=3).tolist()   # gpu_pairing_keys(cupy, st, 0, 3) too
    [[0, 0, 0, 2, 3], [-2, 0, 1, 0, 1], [0, 0, 0, 2, 3]]
    """
    from .backend import to_numpy

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
