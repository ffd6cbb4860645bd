"""``graphexp expand`` for GUE and complex Ginibre words through the compiled kernel: the stored
exact aggregates equal Harer–Zagier numbers and the Ginibre genus counts from an independent
method (cycles of permutations), at orders small enough for the test suite."""

from __future__ import annotations

import itertools
import json

from typer.testing import CliRunner

from graphexp_db.cli import app
from graphexp_db.finite import harer_zagier

runner = CliRunner()


def _expand(db: str, *args: str) -> dict:
    r = runner.invoke(app, ["expand", *args, "--db", db, "--json", "--force"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _ginibre_by_genus(k: int) -> dict[int, int]:
    """(1/N) E tr (W W^*)^k = sum over sigma in S_k of N^(c(sigma) + c(gamma^-1 sigma) - k - 1):
    genus g when the two cycle counts add up to k + 1 - 2g (an enumeration of permutations, not
    of Wick pairings of the word)."""

    def cycles(p):
        seen, c = [False] * k, 0
        for i in range(k):
            if not seen[i]:
                c += 1
                while not seen[i]:
                    seen[i] = True
                    i = p[i]
        return c

    out: dict[int, int] = {}
    for s in itertools.permutations(range(k)):
        tau = [s[(i + 1) % k] for i in range(k)]  # sigma o gamma; over all sigma, (c(sigma), c(sigma gamma))
        # has the law of (c(sigma), c(gamma^-1 sigma)): replace sigma by its inverse
        g = (k + 1 - cycles(s) - cycles(tau)) // 2
        out[g] = out.get(g, 0) + 1
    return out


def test_gue_order_6_equals_harer_zagier(sqlite_url):
    s = _expand(sqlite_url, "--quantity", "gue", "--order", "6")
    assert {-int(e) // 2: int(c) for e, c in s["by_exponent"].items()} == harer_zagier(6)


def test_complex_ginibre_order_7_equals_permutation_counts(sqlite_url):
    s = _expand(sqlite_url, "--quantity", "trace", "--p", "1", "--order", "7", "--ensemble", "complex")
    assert {-int(e) // 2: int(c) for e, c in s["by_exponent"].items()} == _ginibre_by_genus(7)
