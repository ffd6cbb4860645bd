"""Finite-width benchmarks (issue 8): the layer recursion against the pairing route, same run.

Rows (printed, not asserted; target in brackets):

1. the two depth-2 examples of the issue, complete exact polynomials  [< 1 s each];
   the pairing route's time is *estimated* from its exact pairing count and its throughput
   measured here on a smaller case (running it would take tens of minutes);
2. a case both routes run: both timed, ratio, and the series compared exactly;
3. quadratic activation at L = 4, complete (covariance, NTK, 4-point)  [< 30 s];
   the pairing route refuses (operator-graph count printed);
4. quadratic activation at L = 10 to N^-2 (covariance, NTK, 4-point)  [< 5 s];
5. tanh at L = 10 to N^-1, M x M covariance matrix, M = 64  [< 10 s].

Run: ``.venv/bin/python benchmarks/bench_finite.py [--m 64]``
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction

import numpy as np

from graphexp_db.expand import count_operator_graphs
from graphexp_db.finite import (
    covariance_series,
    estimate_pairings,
    fourpoint_series,
    kernel_matrix_series,
    ntk_series,
)
from graphexp_db.spec import parse_arch

X = ["1", "0.5", "-0.3"]
Y = ["0.2", "-1", "0.7"]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def row(what, seconds, target=None, extra=""):
    ok = "" if target is None else ("  ok" if seconds < target else "  OVER")
    tgt = "" if target is None else f" [target < {target:g} s]"
    print(f"{what:<62} {seconds:9.3f} s{tgt}{ok} {extra}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=64)
    args = ap.parse_args()

    # throughput of the pairing route on a case it runs (cubic, L = 1, 4-point: ~95k pairings)
    small = parse_arch("mlp:L=1,sw=0.7,sb=0.2")
    n_small = estimate_pairings(small, "fourpoint", "poly:0,1,0,1/3") + estimate_pairings(small, "covariance", "poly:0,1,0,1/3")
    t_small, _ = timed(lambda: fourpoint_series(small, "poly:0,1,0,1/3", X, method="graphs", limit=10**9))
    rate = n_small / t_small
    print(f"pairing route throughput (measured): {rate:,.0f} pairings/s ({n_small:,} pairings in {t_small:.2f} s)\n")

    print("1. depth-2 examples of the issue, complete")
    for kind, arch, act in [("fourpoint", "mlp:L=2,sw=1.2,sb=0", "poly:0,1,0.5"), ("covariance", "mlp:L=2,sw=1.2,sb=0", "poly:0,1,0,1/3")]:
        spec = parse_arch(arch)
        if kind == "fourpoint":
            t, s = timed(lambda: fourpoint_series(spec, act, X))
            n = estimate_pairings(spec, "fourpoint", act) + estimate_pairings(spec, "covariance", act)
        else:
            t, s = timed(lambda: covariance_series(spec, act, X, Y))
            n = estimate_pairings(spec, "covariance", act)
        est = n / rate
        row(f"   {kind} {arch} {act} ({len(s)} coefficients)", t, 1.0,
            f"| pairing route ~{est:,.0f} s ({n:,} pairings) -> ratio ~{est / t:,.0f}x")

    print("\n2. both routes timed (quadratic, L = 2, covariance and NTK)")
    spec = parse_arch("mlp:L=2,sw=1.2,sb=0.3")
    for fn, name in [(covariance_series, "covariance"), (ntk_series, "ntk")]:
        tg, g = timed(lambda: fn(spec, "poly:0.1,1,0.5", X, Y, method="graphs"))
        tr, r = timed(lambda: fn(spec, "poly:0.1,1,0.5", X, Y, method="recursion"))
        row(f"   {name}: recursion (graphs {tg:.3f} s)", tr, None, f"| ratio {tg / tr:,.0f}x, equal: {dict(g) == dict(r)}")

    print("\n3. quadratic activation at L = 4, complete")
    spec = parse_arch("mlp:L=4,sw=1,sb=0.2")
    graphs = sum(count_operator_graphs(spec, "covariance", o) for o in range(3))
    for name, call in [("covariance", lambda: covariance_series(spec, "poly:0,1,1/2", X, Y)),
                       ("ntk", lambda: ntk_series(spec, "poly:0,1,1/2", X, Y)),
                       ("fourpoint", lambda: fourpoint_series(spec, "poly:0,1,1/2", X))]:
        t, s = timed(call)
        row(f"   {name} ({len(s)} coefficients, exact)", t, 30.0, f"| pairing route: {graphs:,} covariance graphs, refused")

    print("\n4. quadratic activation at L = 10, to N^-2")
    spec = parse_arch("mlp:L=10,sw=1,sb=0.2")
    for name, call in [("covariance", lambda: covariance_series(spec, "poly:0,1,1/2", X, Y, max_order=2)),
                       ("ntk", lambda: ntk_series(spec, "poly:0,1,1/2", X, Y, max_order=2)),
                       ("fourpoint", lambda: fourpoint_series(spec, "poly:0,1,1/2", X, max_order=2))]:
        t, s = timed(call)
        row(f"   {name} (exact: {all(isinstance(v, Fraction) for v in s.values())})", t, 5.0)

    print(f"\n5. tanh at L = 10 to N^-1, {args.m} x {args.m} covariance matrix")
    rng = np.random.default_rng(0)
    Xm = rng.standard_normal((args.m, 8))
    spec = parse_arch("mlp:L=10,sw=1.5,sb=0.1")
    t, A = timed(lambda: kernel_matrix_series(spec, "tanh", Xm, max_order=1))
    s = covariance_series(spec, "tanh", list(Xm[0]), list(Xm[1]), max_order=1)
    diff = max(abs(A[j][0, 1] - s[j]) for j in s)
    row(f"   {args.m * (args.m + 1) // 2} pairs", t, 10.0, f"| entry (0,1) vs the scalar route: |diff| = {diff:.1e} "
        f"(stated error {max(s.errors.values()):.1e})")


if __name__ == "__main__":
    main()
