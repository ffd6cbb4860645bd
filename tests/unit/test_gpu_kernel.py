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


def test_cuda_genus_kernel_keys_match_the_cpu_kernel():
    cp = pytest.importorskip("cupy", reason="cupy is not installed (GPU extra); the CPU kernels are tested everywhere")
    from graphexp_db.backend import gpu_available

    if not gpu_available():
        pytest.skip("no CUDA device visible to cupy")
    from graphexp_db.expand import gue_graph, trace_word_graph
    from graphexp_db.genus_kernel import pairing_keys, pairing_terms

    for g, ens in ((gue_graph(6), "gaussian"), (trace_word_graph(2, 3), "gaussian"), (trace_word_graph(1, 7), "complex")):
        gpu = pairing_keys(g, ens, 17, 9000, xp=cp)
        cpu = pairing_keys(g, ens, 17, 9000, compiled=False)
        assert (gpu == cpu).all()
        assert pairing_terms(g, ens, xp=cp) == pairing_terms(g, ens)
