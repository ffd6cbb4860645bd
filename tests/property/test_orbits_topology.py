"""Property tests: orbit multiplicities sum to totals, chi = V - E + F, exponent = chi - 2."""

from hypothesis import given, settings
from hypothesis import strategies as st

from graphexp_db.embed import embed_batch, embed_one
from graphexp_db.expand import gue_graph, iter_operator_graphs, jacobian_graph, trace_word_graph
from graphexp_db.pair import PairingSpace, automorphisms, orbits
from graphexp_db.spec import parse_arch

WORDS = st.one_of(
    st.builds(gue_graph, st.integers(1, 5)),
    st.builds(trace_word_graph, st.integers(1, 3), st.integers(1, 3)),
    st.builds(jacobian_graph, st.integers(1, 2), st.integers(1, 2)),
)


@settings(max_examples=25, deadline=None)
@given(WORDS, st.sampled_from(["gaussian", "complex"]))
def test_orbit_multiplicities_sum_to_total(graph, ensemble):
    if graph.rule == "hermitian" and ensemble == "complex":
        ensemble = "gaussian"
    space = PairingSpace(graph, ensemble)
    reps, sizes = orbits(space, automorphisms(graph))
    assert int(sizes.sum()) == space.total
    # every orbit size divides the group order (orbit-stabiliser) when the full group was used
    group = len(automorphisms(graph))
    assert all(group % int(s) == 0 for s in sizes)


@settings(max_examples=25, deadline=None)
@given(WORDS, st.data())
def test_euler_characteristic_and_exponent(graph, data):
    space = PairingSpace(graph)
    rank = data.draw(st.integers(0, space.total - 1))
    emb = embed_one(graph, space.pairs(rank))
    assert emb.chi == emb.V - emb.E + emb.F
    assert emb.n_exponent == emb.chi - 2  # (1/N) E tr scales as N^(chi - 2)
    if emb.orientable:
        assert emb.n_exponent == -2 * emb.genus
    else:
        assert emb.n_exponent == -emb.crosscaps


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 11), st.data())
def test_tree_exponent_is_minus_cycle_rank(index, data):
    graphs = list(iter_operator_graphs(parse_arch("mlp:L=2"), "covariance", 1))
    graph = graphs[index % len(graphs)]
    space = PairingSpace(graph)
    if space.total == 0:
        return
    P = space.unrank(0, space.total)
    b = embed_batch(graph, P)
    assert (b.n_exponent <= 0).all()
    assert (b.chi == 1 + b.n_exponent).all()  # connected quotient: chi = 1 - cycle rank
