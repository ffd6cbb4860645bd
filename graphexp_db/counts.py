"""Closed-form counts used across the pipeline (the one copy of each): double factorials, Isserlis
(Wick) matching counts, Catalan and Fuss–Catalan numbers.  Pure integer arithmetic, exact.

Examples
--------
>>> double_factorial(5), isserlis_count(2, 2, 2), fuss_catalan(2, 3)
(15, 2, 12)
>>> sum(isserlis_count(3, 3, j) for j in range(4)) == double_factorial(5)   # all pairings of 6 items
True

References
----------
L. Isserlis, Biometrika 12 (1918) 134 (Gaussian moments as sums over pairings);
arXiv:2407.08459 (Fuss–Catalan numbers as the genus-0 counts of Ginibre products).
"""

from __future__ import annotations

import math

__all__ = ["double_factorial", "isserlis_count", "catalan", "fuss_catalan"]


def double_factorial(n: int) -> int:
    """n!! = n (n - 2) (n - 4) ... for n >= 1, and 1 for n <= 0 (so (-1)!! = 1).

    (2m - 1)!! is the number of perfect matchings (Wick pairings) of 2m items.

    Parameters
    ----------
    n : int

    Returns
    -------
    int

    Examples
    --------
    >>> double_factorial(7), double_factorial(-1), double_factorial(0)
    (105, 1, 1)
    """
    return math.prod(range(n, 0, -2)) if n > 0 else 1


def isserlis_count(a: int, b: int, j: int) -> int:
    """Perfect matchings of ``a`` items of colour u and ``b`` of colour v with exactly ``j`` mixed (u-v) pairs.

    C(a, j) C(b, j) j! (a - j - 1)!! (b - j - 1)!!, and 0 when a - j or b - j is odd (or j is out of
    range).  Summed with weights K_uv^j K_uu^((a-j)/2) K_vv^((b-j)/2) it is Isserlis' theorem for
    E[u^a v^b] of a centred Gaussian pair.

    Parameters
    ----------
    a, b : int
        Numbers of items of each colour (>= 0).
    j : int
        Number of mixed pairs.

    Returns
    -------
    int

    Examples
    --------
    >>> [isserlis_count(2, 2, j) for j in range(3)]   # E[u^2 v^2] = Kuu Kvv + 2 Kuv^2
    [1, 0, 2]
    >>> sum(isserlis_count(4, 2, j) for j in range(3)) == double_factorial(5)
    True
    """
    if j < 0 or j > min(a, b) or (a - j) % 2 or (b - j) % 2:
        return 0
    return math.comb(a, j) * math.comb(b, j) * math.factorial(j) * double_factorial(a - j - 1) * double_factorial(b - j - 1)


def catalan(k: int) -> int:
    """Catalan(k) = binom(2k, k) / (k + 1): non-crossing partitions of k points, genus-0 GUE pairings of tr H^(2k).

    Parameters
    ----------
    k : int
        Index (>= 0): the number of points, or half the degree of the GUE moment.

    Returns
    -------
    int
        Catalan(k), exact.

    Examples
    --------
    >>> [catalan(k) for k in range(6)]
    [1, 1, 2, 5, 14, 42]
    """
    return math.comb(2 * k, k) // (k + 1)


def fuss_catalan(p: int, k: int) -> int:
    """FussCatalan_p(k) = binom((p+1)k, k) / (pk + 1) (CONVENTIONS.md, Jacobian linear check).

    The k-th moment of the limiting law of (W_p ... W_1)(W_p ... W_1)^T for square Ginibre W_i
    (genus-0 pairings of the trace word); p = 1 gives the Catalan numbers.

    Parameters
    ----------
    p : int
        Number of matrices in the product (>= 1).
    k : int
        Moment (>= 0).

    Returns
    -------
    int

    Examples
    --------
    >>> [fuss_catalan(1, k) for k in range(1, 5)], [fuss_catalan(2, k) for k in range(1, 5)]
    ([1, 2, 5, 14], [1, 3, 12, 55])
    """
    return math.comb((p + 1) * k, k) // (p * k + 1)
