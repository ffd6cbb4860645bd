"""Limits benchmarks (issue 3): printed figures and ratios, not asserted.

1. M x M NNGP + NTK matrices (M = 2048, d = 32, L = 10, relu and erf): ours
   (graphexp_db.limits.kernels, float64) against neural-tangents' ``stax`` analytic kernel_fn
   (float64, jax on the same CPU) in the same run; ratio = peer time / our time (target >= 1),
   and the largest relative difference between the two.
2. Jacobian moments m_1..m_20 at L = 100 (tanh, relu, erf; method "free"): target < 1 s.

Run: ``.venv/bin/python benchmarks/bench_limits.py [--m 2048] [--device cpu|gpu]``
The peer part is skipped with a message when neural-tangents is not importable (install recipe in
``tests/unit/test_limits_peer.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
import types

import numpy as np

from graphexp_db.limits import jacobian_moments, kernels


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def peer_kernel_fn(act, L, sw, sb):
    sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        from neural_tangents import stax
    except Exception as err:  # noqa: BLE001
        return None, f"neural-tangents not importable: {type(err).__name__}: {err}"
    layer = {"relu": stax.Relu(), "erf": stax.Erf()}[act]
    layers = []
    for _ in range(L):
        layers += [stax.Dense(512, W_std=sw, b_std=sb, parameterization="ntk"), layer]
    layers.append(stax.Dense(1, W_std=sw, b_std=sb, parameterization="ntk"))
    _, _, kernel_fn = stax.serial(*layers)
    kernel_fn = jax.jit(kernel_fn, static_argnames="get")

    def run(X):
        k = kernel_fn(X, None, get=("nngp", "ntk"))
        return np.asarray(k.nngp), np.asarray(k.ntk)

    return run, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=2048)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--L", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    sw, sb = 1.4, 0.1
    X = np.random.default_rng(0).standard_normal((args.m, args.d))
    print(f"1. {args.m} x {args.m} NNGP + NTK, d={args.d}, L={args.L}, sw={sw}, sb={sb}, device={args.device}")
    for act in ("relu", "erf"):
        spec = f"mlp:L={args.L},sw={sw},sb={sb}"
        ours_t, ours = best_of(lambda: kernels(spec, act, X, device=args.device), args.repeat)
        line = f"   {act:5s} ours {ours_t:7.3f} s"
        run, why = peer_kernel_fn(act, args.L, sw, sb)
        if run is None:
            print(line + f"   (peer skipped: {why})")
            continue
        run(X[:8])                                     # compile outside the timing
        run(X)
        peer_t, (pn, pt) = best_of(lambda: run(X), args.repeat)
        diff = max(np.max(np.abs(ours.nngp - pn) / np.abs(pn)), np.max(np.abs(ours.ntk - pt) / np.abs(pt)))
        print(line + f" | neural-tangents {peer_t:7.3f} s | ratio (peer/ours) {peer_t / ours_t:5.2f}"
                     f" | max rel diff {diff:.1e}")
    print("2. Jacobian moments m_1..m_20 at L = 100 (method free)")
    for act in ("tanh", "relu", "erf"):
        t, m = best_of(lambda: jacobian_moments("mlp:L=100,sw=1.4,sb=0.05", act, 1.0, 20), 3)
        print(f"   {act:5s} {t * 1e3:8.1f} ms   m_1 = {m[0]:.6g}, m_20 = {m[-1]:.6g}")
    t, _ = best_of(lambda: jacobian_moments("mlp:L=100,sw=1.4,sb=0.05", "tanh", 1.0, 8, method="noncrossing"), 1)
    print(f"   tanh K=8 noncrossing at L=100: {t * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
