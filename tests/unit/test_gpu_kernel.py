"""The embedding kernel on CuPy gives the same exact sums as on NumPy (needs a CUDA GPU)."""

import pytest

pytestmark = pytest.mark.gpu


def test_kernel_on_gpu_matches_cpu():
    cp = pytest.importorskip("cupy", reason="cupy is not installed (GPU extra); the CPU path is tested everywhere")
    from graphexp_db.backend import gpu_available

    if not gpu_available():
        pytest.skip("no CUDA device visible to cupy")
    from graphexp_db.expand import gue_graph, trace_word_graph
    from graphexp_db.finite import graph_terms

    for g in (gue_graph(5), trace_word_graph(2, 3)):
        assert graph_terms(g, xp=cp) == graph_terms(g)
