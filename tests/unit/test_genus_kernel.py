"""The compiled genus kernel (numba) equals the numpy reference path key for key and term for term."""

import functools

import numpy as np
import pytest

from graphexp_db import genus_kernel as gk
from graphexp_db.embed import aggregate, embed_batch
from graphexp_db.expand import gue_graph, iter_operator_graphs, jacobian_graph, trace_word_graph
from graphexp_db.finite import gue_genus_table, harer_zagier
from graphexp_db.pair import PairingSpace, iter_partitions
from graphexp_db.spec import parse_arch

pytestmark = pytest.mark.skipif(not gk.compiled_available(), reason="numba is not installed: only the reference path runs")


@functools.lru_cache(maxsize=None)
def _graphs():
    out = [("gue", gue_graph(5), "gaussian", False), ("trace real", trace_word_graph(2, 3), "gaussian", False),
           ("trace complex", trace_word_graph(2, 4), "complex", False), ("jacobian", jacobian_graph(2, 3), "gaussian", False)]
    for arch, quantity, order in (("mlp:L=1", "covariance", 5), ("mlp:L=2", "ntk", 2), ("mlp:L=1", "fourpoint", 3),
                                  ('{"kind":"dag","edges":[[0,1],[1,2],[0,2]]}', "covariance", 4)):
        graphs = list(iter_operator_graphs(parse_arch(arch), quantity, order))
        big = sorted(graphs, key=lambda g: -PairingSpace(g).total)[:3]  # the largest pairing spaces
        out += [(f"{quantity} {arch}", g, "gaussian", quantity == "ntk") for g in big]
    return tuple(out)


@pytest.mark.parametrize("name,graph,ensemble,marked", _graphs(), ids=[x[0] for x in _graphs()])
def test_compiled_keys_equal_reference_on_random_blocks(name, graph, ensemble, marked):
    space = PairingSpace(graph, ensemble)
    rng = np.random.default_rng(7)
    for _ in range(3):
        lo = int(rng.integers(0, max(1, space.total - 5000)))
        hi = min(space.total, lo + int(rng.integers(1, 5000)))
        fast = gk.pairing_keys(graph, ensemble, lo, hi)
        ref = gk.pairing_keys(graph, ensemble, lo, hi, compiled=False)
        assert fast.shape == ref.shape and (fast == ref).all()
        P = space.unrank(lo, hi)
        assert (gk.partner_keys(graph, P) == ref).all()
        census_a, census_b = {}, {}
        assert gk.keys_terms(graph, fast, marked=marked, census=census_a) == aggregate(
            graph, embed_batch(graph, P), marked=marked, census=census_b)
        assert census_a == census_b


@pytest.mark.parametrize("graph", [trace_word_graph(1, 4), jacobian_graph(1, 2)])
def test_compiled_keys_on_cumulant_partitions(graph):
    reps, weights = [], []
    for blocks, w in iter_partitions(graph, "rademacher"):
        nxt = np.empty(graph.n_edges, dtype=np.int32)
        for b in blocks:
            nxt[list(b)] = list(b[1:]) + [b[0]]
        reps.append(nxt)
        weights.append(w)
    R = np.stack(reps)
    fast = gk.partner_keys(graph, None, blocks_next=R)
    ref = gk.partner_keys(graph, None, blocks_next=R, compiled=False)
    assert (fast == ref).all()
    assert gk.keys_terms(graph, fast, weights=weights) == aggregate(graph, embed_batch(graph, None, blocks_next=R), weights=weights)


def test_gue_genus_table_equals_harer_zagier_through_the_kernel():
    table = gue_genus_table(7)
    for n in range(1, 8):
        assert table[n] == harer_zagier(n)


@pytest.mark.parametrize("graph,ensemble", [(gue_graph(4), "gaussian"), (gue_graph(6), "gaussian"),
                                            (trace_word_graph(1, 5), "complex"), (trace_word_graph(1, 7), "complex")])
def test_orbit_sums_equal_full_enumeration(graph, ensemble):
    c_full, c_orb = {}, {}
    full = gk.pairing_terms(graph, ensemble, census=c_full)
    assert gk.orbit_terms(graph, ensemble, census=c_orb) == full
    assert c_orb == c_full
    # rank ranges: representatives in each range, weighted by their orbit size, add up to the whole
    total = PairingSpace(graph, ensemble).total
    cuts = sorted({0, total, *np.random.default_rng(1).integers(0, total, 4).tolist()})
    parts, c_parts = {}, {}
    for lo, hi in zip(cuts, cuts[1:]):
        for k, w in gk.orbit_terms(graph, ensemble, start=lo, stop=hi, census=c_parts).items():
            parts[k] = parts.get(k, 0) + w
    assert parts == full and c_parts == c_full


def test_orbit_sums_reference_path_equals_full_enumeration(monkeypatch):
    full = {g: gk.pairing_terms(g, e) for g, e in ((gue_graph(5), "gaussian"), (trace_word_graph(1, 5), "complex"))}
    # the compiled orbit weights equal the numpy reference, pairing by pairing
    for graph, ens in ((gue_graph(5), "gaussian"), (trace_word_graph(1, 6), "complex")):
        space = PairingSpace(graph, ens)
        st = gk._Static(graph, space)
        q = gk._rotation_period(graph, space)
        ref = gk._orbit_weight_numpy(space.unrank(0, space.total), q)
        G = graph.n_edges // q
        assert (ref > 0).sum() < space.total and ref.sum() == space.total
        hist = gk._word_hist(st, 0, space.total, q, orbit_size=G)
        per_c = hist.reshape(G + 1, -1).sum(axis=1)  # representatives by orbit size
        assert {c: int(m) for c, m in enumerate(per_c) if m} == dict(zip(*map(list, np.unique(ref[ref > 0], return_counts=True))))
    monkeypatch.setattr(gk, "_numba", lambda: None)  # the numpy reference path end to end
    for (graph, ens), want in zip(((gue_graph(5), "gaussian"), (trace_word_graph(1, 5), "complex")), full.values()):
        assert gk.orbit_terms(graph, ens) == want


@pytest.mark.parametrize("graph,ensemble", [(gue_graph(6), "gaussian"), (trace_word_graph(2, 3), "gaussian"),
                                            (trace_word_graph(1, 6), "complex"), (trace_word_graph(2, 3), "complex")])
def test_word_histogram_path_equals_reference_on_rank_ranges(graph, ensemble):
    space = PairingSpace(graph, ensemble)
    rng = np.random.default_rng(3)
    for lo, hi in [(0, space.total)] + [tuple(sorted(rng.integers(0, space.total, 2).tolist())) for _ in range(3)]:
        c_fast, c_ref = {}, {}
        fast = gk.pairing_terms(graph, ensemble, start=lo, stop=hi, census=c_fast)
        ref = aggregate(graph, embed_batch(graph, space.unrank(lo, hi)), census=c_ref) if hi > lo else {}
        assert fast == ref and c_fast == c_ref


def test_whole_large_cyclic_words_go_through_orbit_sums(monkeypatch):
    calls = []
    real = gk.orbit_terms
    monkeypatch.setattr(gk, "orbit_terms", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(gk, "ORBIT_MIN", 1000)
    graph = gue_graph(6)  # 10,395 pairings
    c_whole, c_parts = {}, {}
    whole = gk.pairing_terms(graph, census=c_whole)
    assert len(calls) == 1
    parts = {}
    for lo in range(0, 10395, 4000):  # rank ranges: every pairing, no orbit sums
        for k, w in gk.pairing_terms(graph, start=lo, stop=lo + 4000, census=c_parts).items():
            parts[k] = parts.get(k, 0) + w
    assert len(calls) == 1 and whole == parts and c_whole == c_parts


@pytest.mark.parametrize("graph,ensemble", [(gue_graph(5), "gaussian"), (trace_word_graph(1, 6), "complex")])
def test_compiled_orbit_ranges_pick_the_reference_representatives(monkeypatch, graph, ensemble):
    """Rank range by rank range, the compiled orbit sums (necklace pruning of the odometer) keep the
    representatives the numpy reference keeps, so mixed workers split a graph consistently."""
    stop = gk.orbit_ranks(graph, ensemble)
    cuts = sorted({0, stop, *np.random.default_rng(5).integers(0, stop, 6).tolist()})
    fast = [gk.orbit_terms(graph, ensemble, start=a, stop=b) for a, b in zip(cuts, cuts[1:])]
    monkeypatch.setattr(gk, "_numba", lambda: None)
    assert [gk.orbit_terms(graph, ensemble, start=a, stop=b) for a, b in zip(cuts, cuts[1:])] == fast
