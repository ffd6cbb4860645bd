"""The closed-form fast path of ``kernels`` (relu, erf; one diagonal recursion per row) equals the
general array path, for K(X, X) and K(X, X'), and float32 results are within 1e-5 of float64."""

import importlib

import numpy as np
import pytest

from graphexp_db.limits import LimitError, kernels

K = importlib.import_module("graphexp_db.kernels")
DAG = '{"kind":"dag","edges":[[0,1],[1,2],[0,2],[2,3],[1,3]],"sw":1.3,"sb":0.2}'


def _reference(monkeypatch, *args, **kw):
    with monkeypatch.context() as m:
        m.setattr(K, "_FAST_ACTS", ())
        return kernels(*args, **kw)


@pytest.mark.parametrize("act", ["relu", "erf"])
@pytest.mark.parametrize("spec", ["mlp:L=10,sw=1.4,sb=0.1", "mlp:L=1,sw=1,sb=0", DAG])
@pytest.mark.parametrize("cross", [False, True])
def test_fast_path_equals_array_path(monkeypatch, act, spec, cross):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((37, 6))
    Y = rng.standard_normal((29, 6)) if cross else None
    fast = kernels(spec, act, X, Y, chunk=5)
    ref = _reference(monkeypatch, spec, act, X, Y)
    # erf's derivative dual 1/sqrt(1 - z^2) is evaluated in an algebraically equal form: 1e-10
    np.testing.assert_allclose(fast.nngp, ref.nngp, rtol=1e-10)
    np.testing.assert_allclose(fast.ntk, ref.ntk, rtol=1e-10)
    if not cross:
        np.testing.assert_allclose(fast.nngp, fast.nngp.T, rtol=1e-14)  # mirrored off the diagonal blocks
        np.testing.assert_allclose(fast.ntk, fast.ntk.T, rtol=1e-14)


@pytest.mark.parametrize("act", ["relu", "erf"])
def test_cross_matrix_of_x_with_itself_is_the_symmetric_one(act):
    X = np.random.default_rng(6).standard_normal((40, 8))
    sym = kernels("mlp:L=4,sw=1.4,sb=0.1", act, X)
    cross = kernels("mlp:L=4,sw=1.4,sb=0.1", act, X, X.copy())
    off = ~np.eye(40, dtype=bool)
    np.testing.assert_allclose(cross.nngp[off], sym.nngp[off], rtol=1e-12)
    np.testing.assert_allclose(cross.ntk[off], sym.ntk[off], rtol=1e-12)


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
@pytest.mark.parametrize("cross", [False, True])
def test_float32_within_1e5_of_float64(act, cross):
    # the benchmark's inputs (standard normal, d = 32, L = 10, sw = 1.4, sb = 0.1), fewer rows
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64 if act == "tanh" else 256, 32))
    Y = rng.standard_normal((48, 32)) if cross else None
    spec = "mlp:L=10,sw=1.4,sb=0.1" if act != "tanh" else "mlp:L=2,sw=1.4,sb=0.1"
    a = kernels(spec, act, X, Y)
    b = kernels(spec, act, X, Y, dtype="float32")
    assert a.nngp.dtype == np.float64 and b.nngp.dtype == np.float32 and b.ntk.dtype == np.float32
    for x64, x32 in ((a.nngp, b.nngp), (a.ntk, b.ntk)):
        assert np.max(np.abs(x32 - x64) / np.abs(x64)) < 1e-5


def test_bad_dtype_is_rejected():
    with pytest.raises(LimitError, match="dtype"):
        kernels("mlp:L=1", "relu", np.ones((2, 2)), dtype="float16")
