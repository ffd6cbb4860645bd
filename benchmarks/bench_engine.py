"""Engine benchmarks (issue 2): printed ratios and figures, not asserted.

1. Genus/face computation throughput of the vectorised kernel (graphexp_db.embed.embed_batch)
   against a plain Python union-find loop over the same pairings, same run.  Target >= 50x.
2. Rows per second written to SQLite by a catalogue fill.
3. Wall time of ``graphexp build --preset core`` into a fresh SQLite file.  Target < 2 minutes
   on a 2-core machine.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--skip-build]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from graphexp_db.embed import embed_batch, embed_one
from graphexp_db.expand import gue_graph, trace_word_graph
from graphexp_db.pair import PairingSpace


def python_faces(graph, P: np.ndarray) -> np.ndarray:
    """The baseline: one pairing at a time, dict-free union-find in plain Python."""
    rows = [e.row for e in graph.edges]
    cols = [e.col for e in graph.edges]
    herm = graph.rule == "hermitian"
    S = graph.n_slots
    out = np.empty(len(P), dtype=np.int64)
    for b, partner in enumerate(P.tolist()):
        parent = list(range(S))

        def find(a):
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for e, f in enumerate(partner):
            if e < f:
                pairs = ((rows[e], cols[f]), (cols[e], rows[f])) if herm else ((rows[e], rows[f]), (cols[e], cols[f]))
                for u, v in pairs:
                    ru, rv = find(u), find(v)
                    if ru != rv:
                        parent[ru] = rv
        out[b] = sum(1 for a in range(S) if find(a) == a)
    return out


def bench_kernel() -> None:
    print("== genus/face kernel: vectorised vs plain Python loop ==")
    for graph in (gue_graph(7), trace_word_graph(2, 4)):
        space = PairingSpace(graph)
        P = space.unrank(0, min(space.total, 200_000))
        t = time.perf_counter()
        b = embed_batch(graph, P)
        t_vec = time.perf_counter() - t
        n_loop = min(len(P), 20_000)
        t = time.perf_counter()
        faces = python_faces(graph, P[:n_loop])
        t_loop = time.perf_counter() - t
        assert (faces == b.F[:n_loop]).all(), "kernel and loop disagree"
        n_one = 2_000
        t = time.perf_counter()
        expo = [embed_one(graph, space.pairs(r)).n_exponent for r in range(n_one)]
        t_one = time.perf_counter() - t
        assert expo == b.n_exponent[:n_one].tolist()
        vec_rate, loop_rate, one_rate = len(P) / t_vec, n_loop / t_loop, n_one / t_one
        print(f"{graph.shape:12s} {graph.n_edges:3d} letters: vectorised {vec_rate:12,.0f} pairings/s | "
              f"plain loop of embed_one {one_rate:9,.0f}/s -> ratio {vec_rate / one_rate:7.1f}x (target >= 50x) | "
              f"hand-tuned union-find loop {loop_rate:9,.0f}/s -> ratio {vec_rate / loop_rate:5.1f}x")


def bench_rows() -> None:
    print("== rows written to SQLite ==")
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from graphexp_db.catalogue import models as m
    from graphexp_db.catalogue.engine import get_engine
    from graphexp_db.catalogue.fill import fill_expansion
    from graphexp_db.catalogue.migrate import ensure_schema

    with tempfile.TemporaryDirectory() as d:
        engine = get_engine(f"sqlite:///{d}/bench.sqlite")
        ensure_schema(engine)
        t = time.perf_counter()
        fill_expansion(engine, "mlp:L=2", "covariance", 2, budget=64)
        dt = time.perf_counter() - t
        with Session(engine) as s:
            n = sum(s.scalar(select(func.count()).select_from(t_)) for t_ in
                    (m.OperatorGraph, m.Pairing, m.Embedding, m.PairingAggregate))
        print(f"mlp-L2 covariance order 2: {n:,} rows in {dt:.2f} s = {n / dt:,.0f} rows/s (graph, pairing, embedding, aggregate)")


def bench_build() -> None:
    print("== graphexp build --preset core (fresh SQLite) ==")
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, GRAPHEXP_DB=f"sqlite:///{d}/core.sqlite")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "graphexp_db.cli", "build", "--preset", "core"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        dt = time.perf_counter() - t
        print(f"build --preset core: {dt:.1f} s on {os.cpu_count()} cores (target < 120 s on 2 cores)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    bench_kernel()
    bench_rows()
    if not args.skip_build:
        bench_build()
