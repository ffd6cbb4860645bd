"""Non-crossing partitions: the enumerator, its counter (Catalan), Fuss-Catalan numbers, and
the (type, Kreweras-complement type) census used by the Jacobian moments.

Examples
--------
>>> len(list(iter_noncrossing(4))) == count_noncrossing(4) == 14
True
"""

from __future__ import annotations

import math
from functools import lru_cache

__all__ = ["iter_noncrossing", "count_noncrossing", "fuss_catalan"]


def iter_noncrossing(k: int):
    """Non-crossing partitions of ``{0..k-1}`` as tuples of blocks (tuples, increasing).

    Parameters
    ----------
    k : int
        Number of points (>= 0).

    Yields
    ------
    tuple of tuple of int
        One partition: its blocks sorted by their first element, each block increasing.  Every
        non-crossing partition is yielded once (Catalan(k) in all).

    Examples
    --------
    >>> len(list(iter_noncrossing(4))) == count_noncrossing(4) == 14
    True
    >>> sorted(iter_noncrossing(3), key=len)[:2]   # one block, then the three with a singleton
    [((0, 1, 2),), ((0,), (1, 2))]
    >>> ((0, 2), (1, 3)) in set(iter_noncrossing(4))   # the one crossing pairing of 4 points is absent
    False
    """
    if k == 0:
        yield ()
        return
    # the block of 0 is {0} + S; the gaps between consecutive elements are filled independently
    for rest in _subsets(range(1, k)):
        block = (0,) + rest
        bounds = list(block) + [k]
        gaps = [tuple(range(bounds[i] + 1, bounds[i + 1])) for i in range(len(block))]
        for parts in _product_nc(gaps):
            yield tuple(sorted((block,) + parts))


def count_noncrossing(k: int) -> int:
    """Catalan(k) = binom(2k, k) / (k + 1), the number of non-crossing partitions of k points.

    Parameters
    ----------
    k : int
        Number of points (>= 0).

    Returns
    -------
    int
        Catalan(k), exact.

    Examples
    --------
    >>> [count_noncrossing(k) for k in range(6)]
    [1, 1, 2, 5, 14, 42]
    """
    return math.comb(2 * k, k) // (k + 1)


def fuss_catalan(p: int, k: int) -> int:
    """FussCatalan_p(k) = binom((p+1)k, k) / (p k + 1).

    Parameters
    ----------
    p : int
        Number of matrices in the Ginibre product (>= 1); p = 1 gives Catalan(k).
    k : int
        Moment (>= 0).

    Returns
    -------
    int
        FussCatalan_p(k), exact.

    Examples
    --------
    >>> [fuss_catalan(2, k) for k in range(1, 5)]
    [1, 3, 12, 55]
    """
    return math.comb((p + 1) * k, k) // (p * k + 1)


def _subsets(items):
    items = tuple(items)
    for mask in range(1 << len(items)):
        yield tuple(items[i] for i in range(len(items)) if mask >> i & 1)


def _product_nc(gaps):
    if not gaps:
        yield ()
        return
    head, tail = gaps[0], gaps[1:]
    for p in _nc_on(head):
        for q in _product_nc(tail):
            yield p + q


def _nc_on(elements: tuple):
    for part in iter_noncrossing(len(elements)):
        yield tuple(tuple(elements[i] for i in b) for b in part)


def _kreweras(part: tuple, k: int) -> list[int]:
    """Block sizes of the Kreweras complement (the cycles of ``gamma^-1 pi`` on k points)."""
    # pi as a permutation: each block cycled increasingly; gamma = (0 1 ... k-1)
    perm = [0] * k
    for b in part:
        for i, v in enumerate(b):
            perm[v] = b[(i + 1) % len(b)]
    sigma = [(perm[i] - 1) % k for i in range(k)]    # gamma^-1 o pi
    seen = [False] * k
    sizes = []
    for i in range(k):
        if not seen[i]:
            n, j = 0, i
            while not seen[j]:
                seen[j] = True
                j = sigma[j]
                n += 1
            sizes.append(n)
    return sizes


@lru_cache(maxsize=None)
def _nc_kreweras_types(k: int) -> dict:
    """{(type of pi, type of K(pi)): count} over NC(k); types are sorted block-size tuples."""
    out: dict = {}
    for part in iter_noncrossing(k):
        key = (tuple(sorted(len(b) for b in part)), tuple(sorted(_kreweras(part, k))))
        out[key] = out.get(key, 0) + 1
    return out


@lru_cache(maxsize=None)
def _nc_types(k: int) -> dict:
    out: dict = {}
    for (lam, _), c in _nc_kreweras_types(k).items():
        out[lam] = out.get(lam, 0) + c
    return out
