"""Monte Carlo benchmark (issue 4): Jacobian spectrum of a square MLP, N = 2048, L = 5.

Prints the achieved GFLOP/s of :func:`graphexp_db.montecarlo.jacobian_moments_estimate` (moments
m_1..m_4 from matrix powers: L products J <- W D J, then G = J J^T and G^2, i.e. (L + 2) products
of 2 N^3 flops per sample; random-number generation and elementwise work are not counted) against
this machine's float64 matmul peak measured in the same run (best of several N x N products), and
the ratio (target >= 0.5).  Also times the optional eigenvalue path (eigvalsh of G) for reference.

Run: ``.venv/bin/python benchmarks/bench_montecarlo.py [--device cpu|gpu|auto] [--N 2048] [--L 5] [--samples 2]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from graphexp_db.backend import device_name, get_xp, to_numpy
from graphexp_db.montecarlo import jacobian_moments_estimate


def _sync(xp):
    if xp is not np:
        xp.cuda.Stream.null.synchronize()


def matmul_peak(xp, N: int, repeats: int = 5) -> float:
    """Best float64 GFLOP/s of an N x N x N product on this backend."""
    rng = xp.random.default_rng(0)
    a, b = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    a @ b
    _sync(xp)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        c = a @ b
        _sync(xp)
        best = min(best, time.perf_counter() - t)
    del c
    return 2 * N**3 / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--N", type=int, default=2048)
    ap.add_argument("--L", type=int, default=5)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--kmax", type=int, default=4)
    args = ap.parse_args()
    xp = get_xp(args.device)
    N, L, S = args.N, args.L, args.samples
    peak = matmul_peak(xp, N)
    spec = f"mlp:L={L},sw=1.2,sb=0.1"
    jacobian_moments_estimate(spec, "tanh", q_in=1.0, N=256, samples=2, kmax=args.kmax, seed=1, xp=xp)  # warm-up
    _sync(xp)
    t = time.perf_counter()
    r = jacobian_moments_estimate(spec, "tanh", q_in=1.0, N=N, samples=S, kmax=args.kmax, seed=0, xp=xp, batch=1)
    _sync(xp)
    secs = time.perf_counter() - t
    products = L + 1 + (args.kmax + 1) // 2  # L Jacobian products, G = J J^T, then G^2 .. G^ceil(kmax/2)
    flops = S * products * 2 * N**3
    achieved = flops / secs / 1e9
    t = time.perf_counter()
    G = xp.asarray(np.random.default_rng(0).standard_normal((N, N)))
    G = G @ G.T
    _sync(xp)
    t = time.perf_counter()
    to_numpy(xp.linalg.eigvalsh(G))
    eig_secs = time.perf_counter() - t
    print(f"device: {device_name(xp)}")
    print(f"matmul peak (float64, {N}^3, best of 5): {peak:.1f} GFLOP/s")
    print(f"Jacobian spectrum N={N} L={L} samples={S} kmax={args.kmax}: {secs:.2f} s, {achieved:.1f} GFLOP/s")
    print(f"ratio achieved / peak: {achieved / peak:.2f}")
    print(f"eigvalsh of one {N}x{N} G (optional eigenvalue path): {eig_secs:.2f} s")
    print(f"moments: {[round(m, 4) for m in r['moments']]} +- {[round(e, 4) for e in r['stderr']]}")


if __name__ == "__main__":
    main()
