"""Size estimates against the enumeration they replace (issue 13.3): printed ratios, not asserted.

For expansions small enough to enumerate, time ``estimate_expansion`` (closed forms and counting
by edge-count vectors, no graph built) against ``plan_expansion(force=True)`` (builds and
canonicalises every graph, then counts its pairings) in the same run, and check the estimate
bounds the enumerated total.  Then time the refusals that used to take minutes or exhaust memory.

Run: ``.venv/bin/python benchmarks/bench_size_estimate.py``
"""

from __future__ import annotations

import time

from graphexp_db.catalogue.fill import plan_expansion
from graphexp_db.errors import TooLarge
from graphexp_db.expand import check_size, estimate_expansion
from graphexp_db.spec import parse_arch

SMALL = [("mlp:L=2", "covariance", 2), ("mlp:L=1", "fourpoint", 3), ("resnet:L=2", "covariance", 3), ("mlp:L=1", "covariance", 6)]
HUGE = [("mlp:L=2", "covariance", 3, None), ("mlp:L=2", "covariance", 2**31, None), (None, "gue", 10**6, None),
        ("mlp:L=3", "fourpoint", 5, None), (None, "trace", 2**31, 3)]


def _time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    print(f"{'expansion':36s} {'graphs':>8s} {'pairings':>12s} {'estimate':>12s} {'enum s':>8s} {'est s':>8s} {'ratio':>8s}")
    for arch, q, o in SMALL:
        spec = parse_arch(arch)
        est = estimate_expansion(spec, q, o)
        graphs, sizes = plan_expansion(spec, q, o, force=True)
        t_enum = _time(lambda spec=spec, q=q, o=o: plan_expansion(spec, q, o, force=True), 1)
        t_est = _time(lambda spec=spec, q=q, o=o: estimate_expansion(spec, q, o))
        assert est.pairings_at_least() <= sum(sizes) <= est.n_pairings
        print(f"{arch + ' ' + q + ' o' + str(o):36s} {len(graphs):8d} {sum(sizes):12d} {est.n_pairings:12d} "
              f"{t_enum:8.3f} {t_est:8.4f} {t_enum / t_est:7.0f}x")
    print("\nrefusals (before: 155 s and 948 MB, a hang, MemoryError after 45 s, a hang):")
    for arch, q, o, p in HUGE:
        spec = parse_arch(arch) if arch else None
        t0 = time.perf_counter()
        try:
            check_size(spec, q, o, p=p)
            msg = "accepted"
        except TooLarge as err:
            msg = str(err)
        print(f"  {time.perf_counter() - t0:7.4f} s  {msg[:120]}")


if __name__ == "__main__":
    main()
