"""Surface labels: the integer codes round-trip, and cumulant blocks with a negative Euler
characteristic are labelled X<chi> (they were read back as N<996..999> crosscaps before)."""

from __future__ import annotations

import numpy as np
import pytest

from graphexp_db.embed import aggregate, embed_batch
from graphexp_db.expand import trace_word_graph
from graphexp_db.graph_sums import graph_terms
from graphexp_db.surfaces import CROSSCAP, CUMULANT, SPAN, Surface, surface_text


@pytest.mark.parametrize("label", ["S0", "S7", "N1", "N40", "X2", "X0", "X-1", "X-40", "Q"])
def test_labels_round_trip(label):
    s = Surface.parse(label)
    assert str(s) == label
    if label != "Q":
        assert surface_text(s.code) == label


def test_code_ranges_do_not_overlap():
    codes = {("S", g): g for g in range(SPAN)} | {("N", k): CROSSCAP + k for k in range(SPAN)} \
        | {("X", c): CUMULANT + c for c in range(-SPAN + 1, SPAN)}
    assert len(set(codes.values())) == len(codes)
    assert all(Surface.from_code(code) == Surface(*key) for key, code in codes.items())


def test_one_block_of_all_eight_letters_is_chi_minus_four():
    # tr (W W^T)^4 with all 8 letters in one cumulant block: V = 1 trace + 1 block + 2 index classes,
    # E = 8 letters, chi = 1 + 1 + 2 - 8 = -4
    g = trace_word_graph(1, 4)
    nxt = np.roll(np.arange(g.n_edges, dtype=np.int32), -1)[None, :]
    (key,) = aggregate(g, embed_batch(g, None, blocks_next=nxt), weights=[1]).keys()
    assert key[1] == "X-4"


def test_rademacher_trace_words_have_only_cumulant_surfaces():
    surfaces = {s for (_e, s, _f) in graph_terms(trace_word_graph(1, 4), "rademacher")}
    assert all(s.startswith("X") for s in surfaces)
    assert {Surface.parse(s).value for s in surfaces} == set(range(-4, 3))
