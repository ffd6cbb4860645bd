"""graphexp_db.counts against brute-force enumeration (independent of the closed forms)."""

from __future__ import annotations

import pytest

from graphexp_db import counts


def _matchings(items):
    """All perfect matchings of a list, by brute force."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for i in range(len(rest)):
        for m in _matchings(rest[:i] + rest[i + 1:]):
            yield [(first, rest[i])] + m


@pytest.mark.parametrize("a,b", [(0, 0), (1, 1), (2, 2), (3, 1), (4, 2), (3, 3), (5, 3), (4, 4)])
def test_isserlis_count_by_brute_force(a, b):
    items = [("u", i) for i in range(a)] + [("v", i) for i in range(b)]
    by_mixed: dict[int, int] = {}
    for m in _matchings(items):
        j = sum(p[0] != q[0] for p, q in m)
        by_mixed[j] = by_mixed.get(j, 0) + 1
    assert {j: counts.isserlis_count(a, b, j) for j in range(min(a, b) + 1) if counts.isserlis_count(a, b, j)} == by_mixed
    assert sum(by_mixed.values()) == (counts.double_factorial(a + b - 1) if (a + b) % 2 == 0 else 0)


def test_fuss_catalan_counts_ary_trees():
    # FussCatalan_p(k) counts (p+1)-ary trees with k internal nodes: T(k) = sum over (p+1)-compositions
    from functools import lru_cache

    @lru_cache(maxsize=None)
    def trees(p, k):
        return 1 if k == 0 else comp(p, p + 1, k - 1)

    @lru_cache(maxsize=None)
    def comp(p, parts, total):  # ordered (parts)-tuples of subtrees with `total` internal nodes in all
        if parts == 0:
            return 1 if total == 0 else 0
        return sum(trees(p, t) * comp(p, parts - 1, total - t) for t in range(total + 1))

    for p in (1, 2, 3):
        assert [counts.fuss_catalan(p, k) for k in range(8)] == [trees(p, k) for k in range(8)]
    assert [counts.catalan(k) for k in range(8)] == [counts.fuss_catalan(1, k) for k in range(8)]


def test_old_names_are_the_same_objects():
    from graphexp_db import finite, pair

    assert pair.double_factorial is counts.double_factorial and finite.fuss_catalan is counts.fuss_catalan
