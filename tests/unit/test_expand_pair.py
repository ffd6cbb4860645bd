import itertools
import math

import numpy as np
import pytest

from graphexp_db.canonical import canonical_graphs, certificate, is_isomorphic_nx
from graphexp_db.expand import count_operator_graphs, gue_graph, iter_operator_graphs, jacobian_graph, trace_word_graph
from graphexp_db.pair import PairingSpace, count_pairings, count_partitions, iter_pairings, iter_partitions
from graphexp_db.spec import parse_arch


@pytest.mark.parametrize(
    "arch,quantity,order",
    [("mlp:L=1", "covariance", 0), ("mlp:L=1", "covariance", 3), ("mlp:L=2", "covariance", 1), ("mlp:L=1", "fourpoint", 2),
     ('{"kind":"dag","edges":[[0,1],[1,2],[0,2]]}', "covariance", 2), ("mlp:L=3", "ntk", 1)],
)
def test_graph_enumeration_matches_counter(arch, quantity, order):
    a = parse_arch(arch)
    graphs = list(iter_operator_graphs(a, quantity, order))
    assert len(graphs) == count_operator_graphs(a, quantity, order)
    classes = canonical_graphs(graphs)
    assert sum(g.coefficient for _, g in classes) == sum(g.coefficient for g in graphs)
    # graphs merged into one class are isomorphic for networkx too, and class representatives are not
    by_cert = {}
    for g in graphs:
        by_cert.setdefault(certificate(g), []).append(g)
    for members in list(by_cert.values())[:30]:
        assert all(is_isomorphic_nx(members[0], m) for m in members[1:])
    reps = [g for _, g in classes][:15]
    assert not any(is_isomorphic_nx(a, b) for a, b in itertools.combinations(reps, 2))


def test_certificates_agree_with_networkx_isomorphism():
    graphs = list(iter_operator_graphs(parse_arch("mlp:L=1"), "fourpoint", 1))[:25]
    graphs += [gue_graph(2), trace_word_graph(1, 2), trace_word_graph(2, 1), jacobian_graph(1, 1)]
    for a, b in itertools.combinations(graphs, 2):
        assert (certificate(a) == certificate(b)) == is_isomorphic_nx(a, b)
    # a relabelled copy (edges permuted) has the same certificate
    g = trace_word_graph(2, 2)
    perm = [3, 0, 1, 2, 7, 4, 5, 6]
    h = g.replace(edges=tuple(g.edges[i] for i in perm))
    assert certificate(g) == certificate(h) and is_isomorphic_nx(g, h)


@pytest.mark.parametrize("graph,ensemble", [(gue_graph(4), "gaussian"), (trace_word_graph(2, 3), "gaussian"), (trace_word_graph(2, 3), "complex")])
def test_rank_unrank_round_trip_and_counts(graph, ensemble):
    space = PairingSpace(graph, ensemble)
    assert space.total == count_pairings(graph, ensemble)
    P = space.unrank(0, space.total)
    assert (space.rank(P) == np.arange(space.total)).all()
    assert (P[np.arange(len(P))[:, None], P] == np.arange(graph.n_edges)).all()  # involutions
    mats = np.array([e.mat for e in graph.edges])
    assert (mats[P] == mats).all()  # only copies of the same matrix are paired
    if ensemble == "complex":
        conj = np.array([e.conj for e in graph.edges])
        assert (conj[P] != conj).all()
    assert len(set(map(tuple, P.tolist()))) == space.total


def test_iter_pairings_is_exactly_the_double_factorial():
    for n in range(1, 6):
        assert len(list(iter_pairings(gue_graph(n)))) == math.prod(range(2 * n - 1, 0, -2))


def test_cumulant_partitions_match_their_counter():
    g = trace_word_graph(1, 3)
    assert sum(1 for _ in iter_partitions(g, "rademacher")) == count_partitions(g)  # no zero weights for rademacher
    assert sum(1 for _ in iter_partitions(g, "gaussian")) == count_pairings(g) == 15


def test_quotient_certificates_match_networkx_isomorphism():
    import networkx as nx

    from graphexp_db.embed import embed_one

    g = trace_word_graph(1, 3)
    space = PairingSpace(g)
    embs = [embed_one(g, space.pairs(r)) for r in range(space.total)]

    def nxq(emb):
        q = nx.MultiDiGraph()
        for u, v, mat in emb.quotient_edges:
            q.add_edge(u, v, mat=mat)
        return q

    for a, b in itertools.combinations(embs, 2):
        iso = nx.is_isomorphic(nxq(a), nxq(b), edge_match=lambda x, y: sorted(d["mat"] for d in x.values()) == sorted(d["mat"] for d in y.values()))
        assert (a.quotient_certificate == b.quotient_certificate) == iso
