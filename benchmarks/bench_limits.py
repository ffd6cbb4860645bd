"""Limits benchmarks (issues 3 and 12): printed figures and ratios, not asserted.

Every row of issue 12's table that concerns limits, with the peer measured in the same run:

1. NNGP + NTK matrices, L = 10, M = 2048, d = 32, relu and erf: the symmetric ``K(X, X)`` and
   the cross matrix ``K(X, X')``, at float64 and float32, ours (``graphexp_db.limits.kernels``)
   against neural-tangents' ``stax`` analytic ``kernel_fn`` (jax on the same CPU, jit-compiled
   outside the timing).  ratio = peer time / our time (target >= 2); the float32 rows also print
   our float32 result's largest relative difference to our float64 one (target <= 1e-5).
2. tanh NNGP + NTK, L = 10, M = 32 (quadrature) against neural-tangents' ``ElementwiseNumerical``.
3. Exact trace words, real Ginibre k = 7 (all 135,135 Wick pairings) -- the symbolic peer
   PyRTNI2 is timed when importable, else the row says so.
4. Jacobian moments m_1..m_20 at L = 100 (tanh, relu, erf; method "free"): target < 1 s.

Run: ``.venv/bin/python benchmarks/bench_limits.py [--m 2048] [--repeat 2] [--device cpu|gpu]``
The peer part is skipped with a message when neural-tangents is not importable (install recipe:
``make peer``).
"""

from __future__ import annotations

import argparse
import os
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


def _jax(x64: bool):
    sys.modules.setdefault("neural_tangents.experimental", types.ModuleType("neural_tangents.experimental"))
    import jax

    jax.config.update("jax_enable_x64", x64)
    from neural_tangents import stax

    return jax, stax


def peer_kernel_fn(act, L, sw, sb, x64=True):
    """neural-tangents' kernel_fn (jit) for the MLP of CONVENTIONS.md, or (None, why)."""
    try:
        jax, stax = _jax(x64)
    except Exception as err:  # noqa: BLE001
        return None, f"neural-tangents not importable: {type(err).__name__}: {err}"
    import jax.numpy as jnp

    layer = {"relu": lambda: stax.Relu(), "erf": lambda: stax.Erf(),
             "tanh": lambda: stax.ElementwiseNumerical(jnp.tanh, deg=25)}[act]
    layers = []
    for _ in range(L):
        layers += [stax.Dense(512, W_std=sw, b_std=sb, parameterization="ntk"), layer()]
    layers.append(stax.Dense(1, W_std=sw, b_std=sb, parameterization="ntk"))
    _, _, kernel_fn = stax.serial(*layers)
    kernel_fn = jax.jit(kernel_fn, static_argnames="get")
    dt = np.float64 if x64 else np.float32

    def run(X, Y=None):
        k = kernel_fn(X.astype(dt), None if Y is None else Y.astype(dt), get=("nngp", "ntk"))
        return np.asarray(k.nngp), np.asarray(k.ntk)

    return run, None


def rel(a, b) -> float:
    return float(max(np.max(np.abs(a.nngp - b[0]) / np.abs(b[0])), np.max(np.abs(a.ntk - b[1]) / np.abs(b[1]))))


def bench_matrices(args) -> None:
    sw, sb, L = 1.4, 0.1, args.L
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.m, args.d))
    X2 = rng.standard_normal((args.m, args.d))
    spec = f"mlp:L={L},sw={sw},sb={sb}"
    print(f"1. NNGP + NTK, L={L}, M={args.m}, d={args.d}, sw={sw}, sb={sb}, device={args.device}, "
          f"{os.cpu_count()} cores; ratio = peer / ours (target >= 2)")
    ours64 = {}
    for dtype, x64 in (("float64", True), ("float32", False)):
        for act in ("relu", "erf"):
            run, why = peer_kernel_fn(act, L, sw, sb, x64=x64)
            for shape, Y in (("K(X, X) ", None), ("K(X, X')", X2)):
                t, ours = best_of(lambda act=act, Y=Y, dtype=dtype: kernels(spec, act, X, Y, device=args.device, dtype=dtype), args.repeat)
                line = f"   {act:4s} {shape} {dtype}: ours {t:7.3f} s"
                if dtype == "float64":
                    ours64[(act, shape)] = ours
                else:
                    ref = ours64[(act, shape)]
                    line += f" (max rel diff to our float64 {rel(ours, (ref.nngp, ref.ntk)):.1e}, target <= 1e-5)"
                if run is None:
                    print(line + f" | peer skipped: {why}")
                    continue
                run(X[:8], None if Y is None else Y[:8])  # compile outside the timing
                peer_t, peer = best_of(lambda run=run, Y=Y: run(X, Y), args.peer_repeat)
                print(line + f" | neural-tangents {peer_t:7.3f} s | ratio {peer_t / t:5.2f}"
                             f" | max rel diff to peer {rel(ours, peer):.1e}")


def bench_tanh(args) -> None:
    print("2. tanh NNGP + NTK, L = 10, M = 32 (quadrature)")
    X = np.random.default_rng(1).standard_normal((32, args.d))
    spec = "mlp:L=10,sw=1.4,sb=0.1"
    t, ours = best_of(lambda: kernels(spec, "tanh", X), 1)
    line = f"   ours {t:7.3f} s"
    run, why = peer_kernel_fn("tanh", 10, 1.4, 0.1, x64=True)
    if run is None:
        print(line + f" | peer skipped: {why}")
        return
    run(X[:2])
    peer_t, peer = best_of(lambda: run(X), 1)
    scaled = max(float(np.max(np.abs(ours.nngp - peer[0])) / np.max(np.abs(peer[0]))),
                 float(np.max(np.abs(ours.ntk - peer[1])) / np.max(np.abs(peer[1]))))
    print(line + f" | neural-tangents (ElementwiseNumerical, deg 25) {peer_t:7.3f} s | ratio {peer_t / t:6.1f}"
                 f" | max diff / max |K| {scaled:.1e} (the peer's 25-node Hermite rule, ours adaptive to 1e-10)")


def bench_trace() -> None:
    from graphexp_db.finite import trace_series

    print("3. exact trace words, real Ginibre, p = 1, k = 7 (135,135 Wick pairings)")
    t, s = best_of(lambda: trace_series(1, 7, "gaussian"), 2)
    line = f"   ours {t:7.3f} s  (1/N) E tr (W W^T)^7 = " + " + ".join(f"{v} N^-{j}" for j, v in s.items())
    try:
        import PyRTNI2  # noqa: F401
    except ImportError:
        print(line + " | peer skipped: PyRTNI2 (symbolic Gaussian integrator) is not installed here;"
                     " issue 12 measured 457 s for it")
        return
    print(line + " | PyRTNI2 is importable but no driver for it is written here")


def bench_jacobian() -> None:
    print("4. Jacobian moments m_1..m_20 at L = 100 (method free), target < 1 s")
    for act in ("tanh", "relu", "erf"):
        t, m = best_of(lambda act=act: jacobian_moments("mlp:L=100,sw=1.4,sb=0.05", act, 1.0, 20), 3)
        print(f"   {act:5s} {t * 1e3:8.1f} ms   m_1 = {m[0]:.6g}, m_20 = {m[-1]:.6g}")
    t, _ = best_of(lambda: jacobian_moments("mlp:L=100,sw=1.4,sb=0.05", "tanh", 1.0, 8, method="noncrossing"), 1)
    print(f"   tanh K=8 noncrossing at L=100: {t * 1e3:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=2048)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--L", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--peer-repeat", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    bench_matrices(args)
    bench_tanh(args)
    bench_trace()
    bench_jacobian()


if __name__ == "__main__":
    main()
